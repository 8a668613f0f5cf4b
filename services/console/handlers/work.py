"""What the pages of the people who work tickets after dispatch share: dispatch's view of a ticket, its clocks,
the role homes, and one answer for every action (saved, or why not).

Dispatch owns the unit-side lifecycle; the console reads its tickets with the user's token and sends the
actions it allows (`allowed_actions`), always with the version the page showed (optimistic concurrency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from services.console.clients import ApiFailure, Apis
from services.console.handlers.sign_in import read_claims
from services.console.store import BrowserSession

# each role's own home after sign-in (agents keep the part-1 workspace at /home)
ROLE_HOMES = {
    "unit_handler": "/unit",
    "center_supervisor": "/center",
    "division_supervisor": "/division",
    "admin": "/org",
}
OPEN_STATUSES = ("queued", "dispatched", "accepted", "returned", "replied")


def home_of(role: str) -> str:
    return ROLE_HOMES.get(role, "/home")


@dataclass
class Outcome:
    """What an action did: the ticket as dispatch now has it, or the failure to show beside the form."""

    ticket: dict[str, Any] | None = None
    saved: str = ""  # which action was saved (a msgid of the console)
    error: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    conflict: bool = False  # the ticket changed since the page was shown (a double tap, or someone else)
    result: Any = None
    code: str = ""

    @property
    def message_id(self) -> str:
        """A translated message for the refusals people meet in the field (else the API's own text)."""
        return CODE_MESSAGES.get(self.code, "")


# what the console says, in the user's language, for dispatch's refusals by code
CODE_MESSAGES = {
    "deadline_passed": "The deadline has passed: an extension can only be asked before it.",
    "extension_pending": "An extension of this clock is already waiting for the center.",
    "forbidden": "Only the unit holding the ticket may do this.",
    "no_pending_reply": "This ticket has no reply waiting for review.",
    "already_decided": "This request was already decided.",
}


def next_clock(ticket: dict[str, Any]) -> dict[str, Any] | None:
    """The running clock with the nearest deadline (what the unit must watch), else None."""
    running = [c for c in ticket.get("clocks") or [] if c.get("running")]
    running.sort(key=lambda c: str(c.get("deadline")))
    return running[0] if running else None


def overdue(ticket: dict[str, Any]) -> bool:
    return any(c.get("overdue") for c in ticket.get("clocks") or [])


def local_instant(value: str, zone: tzinfo) -> datetime | None:
    """A `datetime-local` input (the branch's wall clock) as an aware instant; None when empty or unreadable."""
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


async def dispatch_ticket(apis: Apis, token: str, ticket_id: str) -> dict[str, Any]:
    ticket: dict[str, Any] = await apis.call("dispatch", "GET", f"/api/v1/tickets/{ticket_id}", token)
    return ticket


def _fields(failure: ApiFailure) -> dict[str, str]:
    """The API's field paths (`body.reason_text`) as the form's input names."""
    return {path.split(".")[1] if path.startswith("body.") else path: m for path, m in failure.fields.items()}


async def act(
    apis: Apis,
    token: str,
    ticket_id: str,
    path: str,
    body: dict[str, Any],
    saved: str,
    rename: dict[str, str] | None = None,
) -> Outcome:
    """POST one action to dispatch; on success the ticket as it now stands, else what went wrong.

    A 409 with `version_conflict` means the ticket moved on since the page showed it (a second tap of the
    same button, or someone else acting first): nothing was done twice, the page shows the ticket as it is.
    """
    try:
        result = await apis.call("dispatch", "POST", f"/api/v1/tickets/{ticket_id}/{path}", token, json=body)
    except ApiFailure as failure:
        ticket = None
        try:
            ticket = await dispatch_ticket(apis, token, ticket_id)
        except ApiFailure:
            pass
        conflict = failure.status == 409 and failure.code in ("version_conflict", "illegal_transition")
        fields = {(rename or {}).get(k, k): v for k, v in _fields(failure).items()}
        return Outcome(ticket, error=failure.message, fields=fields, conflict=conflict, code=failure.code)
    ticket = result if isinstance(result, dict) and "allowed_actions" in result else None
    if ticket is None:
        ticket = await dispatch_ticket(apis, token, ticket_id)
    return Outcome(ticket, saved=saved, result=result)


async def my_roles(apis: Apis, token: str) -> list[str]:
    """The person's roles as identity has them (several: the page offers to switch)."""
    try:
        me = await apis.call("identity", "GET", "/api/v1/me", token)
    except ApiFailure:
        return []
    return [str(r) for r in me.get("roles") or []]


async def switch_role(apis: Apis, session: BrowserSession, role: str, now: datetime) -> None:
    """Identity issues a token acting in another of the person's roles (ApiFailure when it is not theirs)."""
    if not session.refresh_token:
        raise ApiFailure(409, "this sign-in cannot switch roles; sign out and in again")
    answer = await apis.call(
        "identity", "POST", "/api/v1/auth/refresh", None, json={"refresh_token": session.refresh_token, "role": role}
    )
    claims = read_claims(answer["access_token"], now, answer.get("expires_in"))
    session.access_token = answer["access_token"]
    session.refresh_token = answer.get("refresh_token") or session.refresh_token
    session.access_expires_at = claims.expires_at
    session.role, session.unit, session.division = claims.role, claims.unit, claims.division


def annotate(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each ticket with its next clock and whether one of its clocks is overdue (for the lists)."""
    return [{**t, "next": next_clock(t), "is_overdue": overdue(t)} for t in tickets]
