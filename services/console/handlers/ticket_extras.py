"""The ticket page's attachments and the actions the person's role may take on it (issue 16)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.console.clients import ApiFailure, Apis

# the desk's own links beside the services' actions: the callback rounds of the ticket
DESK_ROLES = frozenset({"agent", "center_supervisor"})


@dataclass(frozen=True)
class AttachmentRow:
    """A photo or receipt of a unit's reply, as the ticket's timeline recorded it."""

    attachment_id: str
    filename: str
    media_type: str
    size_bytes: int
    replied_at: str
    unit_id: str

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")


def attachments_of(ticket: dict[str, Any]) -> list[AttachmentRow]:
    """Every attachment of every reply of the ticket (intake's history of TicketReplied), oldest first."""
    rows: list[AttachmentRow] = []
    seen: set[str] = set()
    for entry in ticket.get("history", []):
        if entry.get("type") != "TicketReplied":
            continue
        details = entry.get("details") or {}
        for item in details.get("attachments") or []:
            attachment_id = str(item.get("attachment_id", ""))
            if not attachment_id or attachment_id in seen:
                continue
            seen.add(attachment_id)
            rows.append(
                AttachmentRow(
                    attachment_id=attachment_id,
                    filename=str(item.get("filename") or attachment_id),
                    media_type=str(item.get("media_type", "application/octet-stream")),
                    size_bytes=int(item.get("size_bytes") or 0),
                    replied_at=str(entry.get("occurred_at", "")),
                    unit_id=str(details.get("unit_id") or ""),
                )
            )
    return rows


def page_actions(role: str, ticket: dict[str, Any]) -> frozenset[str]:
    """The ticket's `allowed_actions` (intake decides them for the caller), and the desk's callback links."""
    actions = set(ticket.get("allowed_actions") or [])
    if role in DESK_ROLES:
        actions.add("callbacks")
    return frozenset(actions)


async def resolve_on_call(apis: Apis, token: str, ticket_id: str, answer: str) -> dict[str, str]:
    """RULES.md §1: close the ticket on the call with the answer given; errors by input (empty: done)."""
    try:
        await apis.call(
            "intake",
            "POST",
            f"/api/v1/tickets/{ticket_id}/first-contact-resolution",
            token,
            json={"answer": answer},
        )
    except ApiFailure as failure:
        fields = {path.removeprefix("body."): message for path, message in failure.fields.items()}
        return {"answer": fields.get("answer", "")} if fields.get("answer") else {"form": failure.message}
    return {}
