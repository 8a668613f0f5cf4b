"""Labels of the pages that work tickets after dispatch (issue 17): msgids of the catalogs, as template filters."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context

ROLE_LABELS = {
    "agent": "Hotline agent",
    "unit_handler": "Unit handler",
    "center_supervisor": "Center supervisor",
    "division_supervisor": "Division supervisor",
    "admin": "Org admin",
    "auditor": "Auditor",
}
CONTACT_METHODS = {"phone": "By phone", "sms": "By text message", "visit": "On site", "other": "Other"}
RETURN_REASONS = {
    "outside_duties": "Not our duties",
    "wrong_or_missing_information": "Wrong or missing information",
    "customer_unreachable": "Customer unreachable",
}
REVIEW_STATUSES = {"pending": "Waiting for review", "approved": "Approved", "rejected": "Rejected"}
REJECT_REASONS = {
    "incomplete": "Incomplete",
    "inaccurate": "Inaccurate",
    "missing_evidence": "Missing evidence",
    "other": "Other",
}
EXTENSION_STATUSES = {"pending": "Waiting for the center", "granted": "Granted", "denied": "Denied"}
FLAG_KINDS = {"supervision": "Supervision (督办)", "spot_check": "Spot check"}


def _label(table: dict[str, str]) -> Any:
    def label(context: Any, value: Any) -> str:
        message = table.get(str(value)) if value is not None else None
        if message is None:
            return str(value or "–")
        return str((context.get("_") or (lambda s: s))(message))

    return pass_context(label)


def install(env: Environment) -> None:
    env.filters["role"] = _label(ROLE_LABELS)
    env.filters["contact_method"] = _label(CONTACT_METHODS)
    env.filters["return_reason"] = _label(RETURN_REASONS)
    env.filters["review_status"] = _label(REVIEW_STATUSES)
    env.filters["reject_reason"] = _label(REJECT_REASONS)
    env.filters["ext_status"] = _label(EXTENSION_STATUSES)
    env.filters["flag_kind"] = _label(FLAG_KINDS)


def push(event: Any, listener: Any, label: str) -> dict[str, Any]:
    """A work push: the ticket, a line to show, where its page is for this role, whether it is urgent."""
    pages = {"unit_handler": "/unit/tickets/", "division_supervisor": "/division/tickets/"}
    ticket = event.ticket_id
    unit = getattr(event.payload, "unit_id", None)
    return {
        "ticket_id": ticket,
        "text": f"{label}{' · ' + unit if unit else ''}",
        "href": f"{pages.get(listener.role, '/tickets/')}{ticket}" if ticket else None,
        "urgent": event.type in ("SlaBreached", "SlaEscalated"),
    }
