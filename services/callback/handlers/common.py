"""What the callback service's use cases share: the producer name, domain errors, branch policies, events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared import errors
from shared.branch_config import BranchPolicies
from shared.events import (
    Event,
    Payload,
    deterministic_event_id,
    new_event,
)

PRODUCER = "callback"


class MissingTicketFacts(RuntimeError):
    """A reply was approved for a ticket whose receipt or dispatch this service never saw."""


class NotFound(errors.NotFound):
    """No such callback in the caller's branch."""


class Conflict(errors.Conflict):
    """The callback is not in a state that allows the command (claimed by another agent, not due...)."""


class Policies(BranchPolicies):
    """Branch policies, loaded once per branch, and the national working-day calendar."""

    @classmethod
    def load(cls) -> Policies:
        return cls()

    def quiet_now(self, code: str, now: datetime) -> bool:
        policy = self.branch(code)
        return policy.quiet_window.contains(now, policy.timezone)


def _event(
    payload: Payload, *, ticket_id: str, branch: str, cause: str, at: datetime, key: Sequence[Any]
) -> Event[Any]:
    # deterministic ids: a retried handler or command emits the same event, which consumers drop
    return new_event(
        payload,
        ticket_id=ticket_id,
        branch=branch,
        producer=PRODUCER,
        correlation_id=cause,
        occurred_at=at,
        event_id=deterministic_event_id(PRODUCER, payload.event_type, *key),
    )
