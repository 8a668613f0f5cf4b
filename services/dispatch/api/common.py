"""What every dispatch route needs: the roles, the context, one transaction per action, the 409s."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import JSONResponse

from services.dispatch.api.present import detail
from services.dispatch.handlers import DispatchContext
from services.dispatch.lifecycle import IllegalTransition, StaleVersion, allowed_actions
from services.dispatch.schemas import TicketDetail
from services.dispatch.store import AuditRecord, Ticket
from shared.auth import AuditLog, Principal, Role, require_roles
from shared.http.errors import ApiError, error_body

T = TypeVar("T")
AUDIT = AuditLog(AuditRecord, service="dispatch")

UnitHandler = Annotated[Principal, require_roles(Role.UNIT_HANDLER)]
Center = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR)]
Supervisor = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR)]
TicketReader = Annotated[
    Principal, require_roles(Role.UNIT_HANDLER, Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR, Role.ADMIN)
]
# the unit's photos and receipts: also for the center's agents, who call the customer back about the reply
AttachmentReader = Annotated[
    Principal,
    require_roles(Role.AGENT, Role.UNIT_HANDLER, Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR, Role.ADMIN),
]
OrgReader = Annotated[
    Principal,
    require_roles(
        Role.AGENT, Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR, Role.ADMIN, Role.INTEGRATION
    ),
]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]
Previewer = Annotated[Principal, require_roles(Role.ADMIN, Role.CENTER_SUPERVISOR, Role.AGENT)]


def context(request: Request) -> DispatchContext:
    ctx: DispatchContext = request.app.state.dispatch
    return ctx


def role_of(request: Request) -> Role:
    """The caller's role (shared.auth put the principal on the request): `allowed_actions` are its own."""
    principal: Principal = request.state.principal
    return principal.role


async def _current(session: AsyncSession, ticket_id: str) -> StaleVersion:
    # the failed transaction was rolled back, its objects expired: this reads the ticket as it now stands
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise ApiError(404, f"ticket {ticket_id} not found")
    return StaleVersion(ticket.state, ticket.version)


async def in_transaction(
    request: Request,
    session: AsyncSession,
    ticket_id: str | None,
    work: Callable[[AsyncSession, DispatchContext], Awaitable[T]],
) -> T:
    """One unit of work on the request's session; a concurrent change of the same ticket becomes a 409 (one wins)."""
    ctx = context(request)
    try:
        async with session.begin():
            result = await work(session, ctx)
    except StaleDataError:
        if ticket_id is None:
            raise
        raise await _current(session, ticket_id) from None
    except OperationalError as error:
        # SQLite: a write on a snapshot another writer has moved past; the same race, the same answer
        if ticket_id is None or "locked" not in str(error).lower():
            raise
        raise await _current(session, ticket_id) from None
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        relay.notify()
    return result


async def act(
    request: Request,
    session: AsyncSession,
    ticket_id: str,
    action: Callable[[AsyncSession, DispatchContext], Awaitable[Ticket]],
) -> TicketDetail:
    """A ticket action in one transaction, answered with the ticket as it now stands."""

    async def work(session: AsyncSession, ctx: DispatchContext) -> TicketDetail:
        return await detail(session, ctx, await action(session, ctx), role_of(request))

    return await in_transaction(request, session, ticket_id, work)


def conflict_response(exc: IllegalTransition | StaleVersion, role: Role | None = None) -> JSONResponse:
    """409 with the ticket's current status, version and the actions allowed now (to `role` when given)."""
    code = "illegal_transition" if isinstance(exc, IllegalTransition) else "version_conflict"
    body = error_body(code, str(exc))
    body["error"]["current_status"] = exc.current.value
    body["error"]["allowed_actions"] = [a.value for a in allowed_actions(exc.current, role)]
    if exc.version is not None:
        body["error"]["version"] = exc.version
    return JSONResponse(body, status_code=409)


async def conflict_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IllegalTransition | StaleVersion)
    principal: Principal | None = getattr(request.state, "principal", None)
    return conflict_response(exc, principal.role if principal is not None else None)
