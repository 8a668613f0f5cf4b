"""Read API of the SLA monitor: a ticket's timers, timers due soon per unit or division, counts and lag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request

from services.sla_monitor.schemas import DueSoonPublic, TicketTimersPublic, TimerPublic
from services.sla_monitor.store import BREACHED, WARNED, ClockTimer, TicketTimers
from services.sla_monitor.worker import SlaMonitor
from shared.auth.deps import SecureRouter, require_roles
from shared.auth.principal import Principal, TicketRef, ensure_branch, ensure_in_scope
from shared.auth.roles import Role
from shared.http.errors import ApiError

router = SecureRouter(prefix="/api/v1/sla", tags=["sla"])

READERS = (Role.AGENT, Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR, Role.ADMIN)
SUPERVISORS = (Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR, Role.ADMIN)


def _monitor(request: Request) -> SlaMonitor:
    monitor: SlaMonitor = request.app.state.monitor
    return monitor


def _instant(epoch: float, ticket: TicketTimers, request: Request) -> datetime:
    zone = _monitor(request).policies.for_event(ticket.branch).timezone
    return datetime.fromtimestamp(epoch, tz=UTC).astimezone(zone)


def _timer(timer: ClockTimer, ticket: TicketTimers, request: Request) -> TimerPublic:
    return TimerPublic(
        clock=timer.clock.value,
        started_at=_instant(timer.start, ticket, request),
        deadline=_instant(timer.deadline, ticket, request),
        warning_at=_instant(timer.warn_at, ticket, request),
        provisional=timer.provisional,
        running=timer.running,
        stopped_by=timer.stopped_by,
        extended=timer.extended,
        warned=WARNED in timer.emitted,
        breached=BREACHED in timer.emitted,
    )


@router.get("/tickets/{ticket_id}/timers", response_model=TicketTimersPublic)
async def ticket_timers(
    ticket_id: str, request: Request, principal: Annotated[Principal, require_roles(*READERS)]
) -> TicketTimersPublic:
    ticket = _monitor(request).ticket(ticket_id)
    if ticket is None:
        raise ApiError(404, f"ticket {ticket_id} has no timers here", code="not_found")
    ensure_in_scope(principal, TicketRef(ticket_id, ticket.branch, unit=ticket.unit_id, division=ticket.division_id))
    return TicketTimersPublic(
        ticket_id=ticket.ticket_id,
        branch=ticket.branch,
        category=ticket.category.value,
        complaint_level=None if ticket.level is None else int(ticket.level),
        unit_id=ticket.unit_id,
        division_id=ticket.division_id,
        closed=ticket.closed,
        timers=[_timer(t, ticket, request) for t in ticket.clocks.values()],
    )


@router.get("/due", response_model=DueSoonPublic)
async def due_soon(
    request: Request,
    principal: Annotated[Principal, require_roles(Role.UNIT_HANDLER, *SUPERVISORS)],
    within_minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 60,
    unit_id: str | None = None,
    division_id: str | None = None,
) -> DueSoonPublic:
    monitor = _monitor(request)
    limit = monitor.settings.max_due_window_minutes
    if within_minutes > limit:
        raise ApiError(
            422,
            "window too wide",
            fields=[{"field": "within_minutes", "message": f"at most {limit} minutes"}],
        )
    # a unit handler or division supervisor sees only their own unit / division
    if principal.role is Role.UNIT_HANDLER:
        unit_id = principal.unit
    if principal.role is Role.DIVISION_SUPERVISOR:
        division_id = principal.division
    now = monitor.clock.now().timestamp()
    end = now + within_minutes * 60
    rows: list[dict[str, Any]] = []
    for ticket in monitor.due_within(within_minutes):
        if ticket.branch != principal.branch:
            continue
        if unit_id is not None and ticket.unit_id != unit_id:
            continue
        if division_id is not None and ticket.division_id != division_id:
            continue
        for timer in ticket.running():
            if now <= timer.deadline <= end:
                rows.append(
                    {
                        "ticket_id": ticket.ticket_id,
                        "unit_id": ticket.unit_id,
                        "division_id": ticket.division_id,
                        "category": ticket.category.value,
                        **_timer(timer, ticket, request).model_dump(mode="json"),
                    }
                )
    rows.sort(key=lambda row: str(row["deadline"]))
    return DueSoonPublic(within_minutes=within_minutes, timers=rows)


@router.get("/stats")
async def stats(request: Request, principal: Annotated[Principal, require_roles(*SUPERVISORS)]) -> dict[str, Any]:
    """Open timers and lag of the partitions this worker holds (each worker answers for its own)."""
    counts = _monitor(request).counts()
    counts["partitions_held"] = [p["partition"] for p in counts["partitions"]]
    return counts


@router.post("/calendar/reload", status_code=202)
async def reload_calendar(
    request: Request, principal: Annotated[Principal, require_roles(Role.ADMIN)]
) -> dict[str, Any]:
    """RULES.md §3: a year's schedule or a branch override was loaded: recompute open deadlines everywhere."""
    ensure_branch(principal, principal.branch)
    partitions = await _monitor(request).request_recompute()
    return {"status": "accepted", "partitions": partitions}
