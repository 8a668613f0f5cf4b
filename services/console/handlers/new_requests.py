"""A new request raised on a callback (RULES.md §5): its inputs per category, intake's refusals beside them,
and the rejected ones for a person to correct and send again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shared.policy.categories import SUBTYPES, Category
from shared.policy.work_order import required_fields

# the callback API names the caller once, from the ticket: a new request carries no complaint subject, so a
# complaint, an alarm (its own fast path) and a query (answered on the call) are raised as work orders instead
DESK_KINDS = tuple(c.value for c in Category if c not in (Category.ALARM, Category.QUERY, Category.COMPLAINT))
# shared/policy/work_order.py's names -> the desk's inputs (the name and phone are the ticket's)
INPUT_OF_REQUIRED = {"description": "new_description", "customer.address": "new_address", "subtype": "new_subtype"}
# callback's 422 paths (intake's refusal passed on) -> the desk's inputs
INPUT_OF_FIELD = {
    "category": "new_category",
    "subtype": "new_subtype",
    "description": "new_description",
    "address": "new_address",
    "district": "new_district",
    "callback_mode": "new_callback_declined",
}


def desk_required(category: str) -> frozenset[str]:
    """The desk's inputs a new request of `category` needs (what intake will require of its ticket)."""
    try:
        kind = Category(category)
    except ValueError:
        return frozenset({"new_category"}) if category else frozenset()
    names = required_fields(kind)
    return frozenset({"new_category", *(INPUT_OF_REQUIRED[n] for n in names if n in INPUT_OF_REQUIRED)})


def subtypes_of(category: str) -> list[str]:
    try:
        return sorted(s.value for s in SUBTYPES.get(Category(category), ()))
    except ValueError:
        return []


def new_request_errors(fields: dict[str, str]) -> dict[str, str]:
    """`body.new_request.address` -> `new_address`; anything else of the request -> the fieldset (`new_request`)."""
    errors: dict[str, str] = {}
    for path, message in fields.items():
        name = path.removeprefix("body.")
        if not name.startswith("new_request"):
            continue
        rest = name.removeprefix("new_request").lstrip(".")
        errors.setdefault(INPUT_OF_FIELD.get(rest, "new_request"), message)
    return errors


@dataclass(frozen=True)
class Rejected:
    """A new request intake refused after the call (the forwarder's last answer), to raise again by hand."""

    request_id: str
    callback_id: str
    parent_ticket_id: str
    created_at: str
    status: int | None
    message: str
    problems: list[tuple[str, str]] = field(default_factory=list)


def rejected_rows(items: list[dict[str, Any]]) -> list[Rejected]:
    """Each rejected request with intake's message and field errors read from the forwarder's last error."""
    rows = []
    for item in items:
        text = str(item.get("last_error") or "")
        status: int | None = None
        message, problems = text, []
        head, sep, body = text.partition(": ")
        if sep and head.startswith("intake answered "):
            digits = head.removeprefix("intake answered ").strip()
            status = int(digits) if digits.isdigit() else None
            message = body
            try:
                error = json.loads(body).get("error", {})
                message = str(error.get("message") or body)
                problems = [
                    (str(f.get("field", "")).removeprefix("body."), str(f.get("message", "")))
                    for f in error.get("fields") or []
                    if isinstance(f, dict)
                ]
            except (ValueError, AttributeError):
                pass
        rows.append(
            Rejected(
                request_id=str(item.get("request_id", "")),
                callback_id=str(item.get("callback_id", "")),
                parent_ticket_id=str(item.get("parent_ticket_id", "")),
                created_at=str(item.get("created_at", "")),
                status=status,
                message=message,
                problems=problems,
            )
        )
    return rows


def new_request_context(values: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """What the desk's new-request inputs show: the kinds, the typed values, required marks, errors."""
    typed = dict(values or {})
    category = typed.get("new_category", "")
    return {
        "kinds": DESK_KINDS,
        "typed": typed,
        "errors": dict(errors or {}),
        "required": desk_required(category),
        "subtypes": subtypes_of(category),
    }
