"""The ticket page's attachments (from the replies in the ticket's history) and the actions it offers."""

from __future__ import annotations

from services.console.handlers.ticket_extras import attachments_of, page_actions


def _replied(event_id: str, at: str, *attachments: dict[str, object]) -> dict[str, object]:
    return {
        "event_id": event_id,
        "type": "TicketReplied",
        "occurred_at": at,
        "producer": "dispatch",
        "details": {"unit_id": "U-QINGXIU", "result": "已更换", "attachments": list(attachments)},
    }


PHOTO = {"attachment_id": "a-1", "media_type": "image/png", "size_bytes": 2048, "filename": "meter.png"}
RECEIPT = {"attachment_id": "a-2", "media_type": "application/pdf", "size_bytes": 10240, "filename": None}


def test_every_replys_attachments_are_listed_once_oldest_first() -> None:
    ticket = {
        "history": [
            {"event_id": "e0", "type": "TicketAccepted", "occurred_at": "2026-03-09T09:00:00+08:00", "details": {}},
            _replied("e1", "2026-03-09T10:00:00+08:00", PHOTO),
            _replied("e2", "2026-03-10T10:00:00+08:00", PHOTO, RECEIPT),  # the photo again in the second reply
        ]
    }
    rows = attachments_of(ticket)
    assert [r.attachment_id for r in rows] == ["a-1", "a-2"]
    assert rows[0].filename == "meter.png" and rows[0].is_image and rows[0].unit_id == "U-QINGXIU"
    assert rows[1].filename == "a-2" and not rows[1].is_image  # no name given: its id
    assert rows[1].replied_at == "2026-03-10T10:00:00+08:00"


def test_a_ticket_without_replies_has_no_attachment() -> None:
    assert attachments_of({"history": []}) == []
    assert attachments_of({}) == []


def test_the_page_offers_the_tickets_allowed_actions_and_the_desk_links_to_center_roles() -> None:
    ticket = {"allowed_actions": ["reveal", "resolve_on_call"]}
    assert page_actions("agent", ticket) == {"reveal", "resolve_on_call", "callbacks"}
    assert page_actions("unit_handler", {"allowed_actions": ["reveal"]}) == {"reveal"}
    assert page_actions("center_supervisor", {}) == {"callbacks"}
