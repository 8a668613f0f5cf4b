"""The callback desk: an outcome form turned into callback's request body."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# --------------------------------------------------------------------------- callback desk


def outcome_body(form: dict[str, str], zone: Any) -> dict[str, Any]:
    """POST /callbacks/{id}/outcome from the desk's form."""
    body: dict[str, Any] = {"outcome": form.get("outcome", ""), "comment": form.get("comment", "")}
    if form.get("problem_solved") in ("yes", "no"):
        body["problem_solved"] = form["problem_solved"] == "yes"
    if form.get("satisfaction", "").isdigit():
        body["satisfaction"] = int(form["satisfaction"])
    if form.get("customer_account"):
        body["customer_account"] = form["customer_account"]
    if form.get("call_back_at"):
        try:
            body["call_back_at"] = datetime.fromisoformat(form["call_back_at"]).replace(tzinfo=zone).isoformat()
        except ValueError:
            body["call_back_at"] = form["call_back_at"]
    if form.get("new_category"):
        request: dict[str, Any] = {"category": form["new_category"], "description": form.get("new_description", "")}
        if form.get("new_subtype"):
            request["subtype"] = form["new_subtype"]
        # where the work is and who routes it (RULES.md §1: an address for repairs and service requests)
        for name in ("address", "district"):
            if form.get(f"new_{name}"):
                request[name] = form[f"new_{name}"]
        if form.get("new_callback_declined") in ("on", "true", "1"):
            request["callback_mode"] = "declined"
        body["new_request"] = request
    return body
