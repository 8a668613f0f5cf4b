"""Who is calling (Principal) and what they may see (Scope, TicketRef) — RULES.md §6."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, false

from shared.auth.roles import Role
from shared.http.errors import ApiError


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller, from a verified token or API key."""

    subject: str
    role: Role
    branch: str
    unit: str | None = None
    division: str | None = None
    token_id: str | None = None
    via: Literal["token", "api_key"] = "token"

    @property
    def scope(self) -> Scope:
        return Scope.of(self)


@dataclass(frozen=True, slots=True)
class TicketRef:
    """What a scope check needs to know about one ticket; services build it from their rows."""

    ticket_id: str
    branch: str
    # the unit the ticket is dispatched to, and that unit's division (None: not dispatched)
    unit: str | None = None
    division: str | None = None
    # the agent with first-contact responsibility (RULES.md §9)
    owner: str | None = None
    # other subjects with a need to know for this ticket, e.g. the callback agent
    assignees: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Scope:
    """The tickets a principal may see: a branch, narrowed to a unit or a division."""

    branch: str
    unit: str | None = None
    division: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Scope:
        if principal.role is Role.UNIT_HANDLER:
            return cls(principal.branch, unit=principal.unit)
        if principal.role is Role.DIVISION_SUPERVISOR:
            return cls(principal.branch, division=principal.division)
        return cls(principal.branch)

    def allows(self, ticket: TicketRef) -> bool:
        if ticket.branch != self.branch:
            return False
        if self.unit is not None:
            return ticket.unit == self.unit
        if self.division is not None:
            return ticket.division == self.division
        return True

    def where(
        self,
        branch_column: ColumnElement[Any],
        unit_column: ColumnElement[Any] | None = None,
        division_column: ColumnElement[Any] | None = None,
    ) -> ColumnElement[bool]:
        """A SQL condition for the services' list queries: `select(T).where(scope.where(...))`."""
        conditions: list[ColumnElement[bool]] = [branch_column == self.branch]
        if self.unit is not None:
            # a narrowed scope on a table without the column must see nothing, not everything
            conditions.append(unit_column == self.unit if unit_column is not None else false())
        elif self.division is not None:
            conditions.append(division_column == self.division if division_column is not None else false())
        return and_(*conditions)


def ensure_branch(principal: Principal, branch: str) -> None:
    """403 for any read or write addressed to another branch (RULES.md §6: no need to know)."""
    if branch != principal.branch:
        raise ApiError(403, f"branch {branch!r} is outside your scope", code="out_of_scope")


def ensure_in_scope(principal: Principal, ticket: TicketRef, *, hide: bool = True) -> None:
    """404 (hide=True: the ticket's existence must not leak) or 403 when out of scope."""
    if principal.scope.allows(ticket):
        return
    if hide:
        raise ApiError(404, f"ticket {ticket.ticket_id} not found")
    raise ApiError(403, f"ticket {ticket.ticket_id} is outside your scope", code="out_of_scope")


def has_need_to_know(principal: Principal, ticket: TicketRef) -> bool:
    """The agent on the call (owner), the unit it is dispatched to, or a named assignee."""
    if not principal.scope.allows(ticket):
        return False
    if principal.subject in ticket.assignees:
        return True
    if principal.role is Role.AGENT:
        return ticket.owner == principal.subject
    if principal.role is Role.UNIT_HANDLER:
        return ticket.unit is not None and ticket.unit == principal.unit
    return False


def ensure_need_to_know(principal: Principal, ticket: TicketRef) -> None:
    """404 out of scope; 403 in scope without a need to know for this ticket (RULES.md §6)."""
    ensure_in_scope(principal, ticket)
    if not has_need_to_know(principal, ticket):
        raise ApiError(403, "no need to know personal data of this ticket", code="no_need_to_know")
