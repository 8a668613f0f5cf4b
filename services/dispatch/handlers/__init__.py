"""Dispatch's use cases, by actor: the ticket events it consumes, the unit's actions, the center's actions.

`common` holds what all of them need (the context, the ticket as the caller may see it, staging events);
`dispatching` sends a ticket to a unit or to the center's manual queue (used by the events and the center).
"""

from __future__ import annotations

from services.dispatch.handlers.center import (
    Correction,
    close_by_center,
    decide_extension,
    dispatch_by_hand,
    flag_ticket,
    refuse_return,
    review_reply,
)
from services.dispatch.handlers.common import PRODUCER, DispatchContext, org_for, ticket_for
from services.dispatch.handlers.dispatching import dispatch_to, queue_for_center
from services.dispatch.handlers.events import EVENT_HANDLERS, handle_ticket_events, ticket_from_received
from services.dispatch.handlers.unit import (
    accept,
    add_attachment,
    decode_base64,
    record_contact,
    reply,
    request_extension,
    return_ticket,
)

__all__ = [
    "EVENT_HANDLERS",
    "PRODUCER",
    "Correction",
    "DispatchContext",
    "accept",
    "add_attachment",
    "close_by_center",
    "decide_extension",
    "decode_base64",
    "dispatch_by_hand",
    "dispatch_to",
    "flag_ticket",
    "handle_ticket_events",
    "org_for",
    "queue_for_center",
    "record_contact",
    "refuse_return",
    "reply",
    "request_extension",
    "return_ticket",
    "review_reply",
    "ticket_for",
    "ticket_from_received",
]
