"""Use cases of the callback service: ticket events in, agent commands in, callback and closing events out."""

from __future__ import annotations

from services.callback.handlers.agent import (
    NewRequest,
    RecordOutcome,
    claim_callback,
    record_outcome,
    release_callback,
    task_in_branch,
)
from services.callback.handlers.common import (
    PRODUCER,
    Conflict,
    MissingTicketFacts,
    NotFound,
    Policies,
)
from services.callback.handlers.events import (
    EVENT_HANDLERS,
    FACTS_OF_BATCH,
    EventHandler,
    handle_ticket_events,
    note_complaint_graded,
    note_resolved_on_first_contact,
    note_ticket_closed,
    note_ticket_dispatched,
    note_ticket_received,
    note_ticket_reopened,
    note_ticket_replied,
    schedule_callback_for_approved_reply,
)

__all__ = [
    "EVENT_HANDLERS",
    "FACTS_OF_BATCH",
    "PRODUCER",
    "Conflict",
    "EventHandler",
    "MissingTicketFacts",
    "NewRequest",
    "NotFound",
    "Policies",
    "RecordOutcome",
    "claim_callback",
    "handle_ticket_events",
    "note_complaint_graded",
    "note_resolved_on_first_contact",
    "note_ticket_closed",
    "note_ticket_dispatched",
    "note_ticket_received",
    "note_ticket_reopened",
    "note_ticket_replied",
    "record_outcome",
    "release_callback",
    "schedule_callback_for_approved_reply",
    "task_in_branch",
]
