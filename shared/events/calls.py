"""Telephony (CTI) events on `hotline.cti.calls`, keyed by call id."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from shared.events.base import (
    CallPayload,
    Identifier,
    PhoneNumber,
    ShortText,
)

# The wire values of categories, clocks, levels and reasons are the policy engine's enums, so a
# producer passes what the policy computed and a consumer hands it straight back to the policy.

# --------------------------------------------------------------------------- telephony (CTI)


class CallOffered(CallPayload):
    """A call rang in a hotline queue: the screen pop looks the caller up by number."""

    event_type = "CallOffered"
    event_version = 1
    personal_fields = frozenset({"caller_number"})

    caller_number: PhoneNumber | None = None  # None when the caller withheld it
    dialled_number: PhoneNumber
    queue: Identifier | None = None
    extension: Identifier | None = None  # the agent's extension the call rings at (the console pops it there)


class CallAnswered(CallPayload):
    """An agent picked the call up."""

    event_type = "CallAnswered"
    event_version = 1

    agent_id: Identifier
    queue: Identifier | None = None


class CallEnded(CallPayload):
    """The call hung up; unanswered means abandoned."""

    event_type = "CallEnded"
    event_version = 1

    answered: bool
    agent_id: Identifier | None = None
    talk_seconds: float | None = Field(default=None, ge=0)
    ended_by: Literal["caller", "agent", "system"] | None = None
    recording_ref: ShortText | None = None
