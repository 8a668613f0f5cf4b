"""The desk's new request: inputs per kind, intake's refusals beside them, the rejected ones read back."""

from __future__ import annotations

import json

from services.console.handlers.callbacks import outcome_body
from services.console.handlers.new_requests import DESK_KINDS, desk_required, new_request_errors, rejected_rows


def test_the_desk_asks_what_intake_will_require_of_each_kind() -> None:
    # RULES.md §1: someone goes to a repair or a service request, so the address is required
    assert desk_required("repair") == {"new_category", "new_description", "new_address"}
    assert desk_required("service_request") == {"new_category", "new_description", "new_address", "new_subtype"}
    assert desk_required("consultation") == {"new_category", "new_description"}
    assert desk_required("") == set()
    # no complaint subject travels with a new request: a complaint is raised as a work order instead
    assert "complaint" not in DESK_KINDS and "alarm" not in DESK_KINDS and "repair" in DESK_KINDS


def test_the_new_request_goes_to_callback_with_its_address_district_and_callback_choice() -> None:
    form = {
        "outcome": "reached",
        "new_category": "repair",
        "new_description": "灶具打不着火",
        "new_address": "青秀区七星路2号",
        "new_district": "青秀区",
        "new_callback_declined": "on",
    }
    assert outcome_body(form, None)["new_request"] == {
        "category": "repair",
        "description": "灶具打不着火",
        "address": "青秀区七星路2号",
        "district": "青秀区",
        "callback_mode": "declined",
    }


def test_intakes_refusal_lands_beside_the_desks_inputs() -> None:
    fields = {
        "body.new_request.address": "an address is required for a repair",
        "body.new_request.subtype": "a service request names its type",
        "body.new_request.phone": "a callback needs a phone",
        "body.satisfaction": "1 to 5",
    }
    assert new_request_errors(fields) == {
        "new_address": "an address is required for a repair",
        "new_subtype": "a service request names its type",
        "new_request": "a callback needs a phone",
    }


def test_a_rejected_request_shows_intakes_message_and_fields() -> None:
    answer = {
        "error": {
            "message": "invalid work order",
            "fields": [{"field": "body.customer.address", "message": "required"}],
        }
    }
    rows = rejected_rows(
        [
            {
                "request_id": "r1",
                "callback_id": "c1",
                "parent_ticket_id": "t1",
                "created_at": "2026-03-09T10:00:00+08:00",
                "last_error": "intake answered 422: " + json.dumps(answer),
            },
            {
                "request_id": "r2",
                "callback_id": "c2",
                "parent_ticket_id": "t2",
                "last_error": "intake answered 400: oops",
            },
        ]
    )
    assert (rows[0].status, rows[0].message, rows[0].problems) == (
        422,
        "invalid work order",
        [("customer.address", "required")],
    )
    assert (rows[1].status, rows[1].message, rows[1].problems) == (400, "oops", [])
