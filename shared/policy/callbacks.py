"""Callback windows and retries of RULES.md §5: quiet hours, spacing, attempts, customer-set times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.policy.categories import PolicyError


@dataclass(frozen=True)
class QuietWindow:
    """RULES.md §5: no callback in [start, end) local time, any day; wraps midnight when start > end."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a quiet window needs different start and end times")

    def contains(self, instant: datetime, tz: ZoneInfo) -> bool:
        local = instant.astimezone(tz).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, instant: datetime, tz: ZoneInfo) -> datetime:
        """The first instant at or after `instant` that is outside the window."""
        local = instant.astimezone(tz)
        if not self.contains(instant, tz):
            return local
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=tz)


@dataclass(frozen=True)
class RetryRule:
    """RULES.md §5: at least `attempts` tries, each at least `min_gap` after the previous one."""

    min_gap: timedelta = timedelta(hours=2)
    attempts: int = 3

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.min_gap < timedelta(0):
            raise ValueError("a retry rule needs >= 1 attempt and a non-negative gap")


class FailureReason(StrEnum):
    """RULES.md §5: why an attempt failed; all but WRONG_NUMBER are the customer's reasons."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    SWITCHED_OFF = "switched_off"
    WRONG_NUMBER = "wrong_number"


def _require_aware(instant: datetime, argument: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise PolicyError(argument, f"{argument} needs a UTC offset or a zone: {instant.isoformat()}")


def first_callback_slot(reply_received: datetime, tz: ZoneInfo, window: QuietWindow = QuietWindow()) -> datetime:
    """RULES.md §5: the earliest instant the first callback may be made after the unit's reply."""
    _require_aware(reply_received, "--reply-received")
    return window.end_after(reply_received, tz)


def next_attempt_slot(
    previous_attempt: datetime,
    tz: ZoneInfo,
    window: QuietWindow = QuietWindow(),
    rule: RetryRule = RetryRule(),
) -> datetime:
    """RULES.md §5: the earliest next attempt: >= min_gap after the previous, outside the quiet window."""
    _require_aware(previous_attempt, "--previous-attempt")
    return window.end_after(previous_attempt + rule.min_gap, tz)


def customer_set_slot(requested: datetime, tz: ZoneInfo) -> datetime:
    """RULES.md §5 policy default: a time the customer asked for is kept, even inside the window."""
    _require_aware(requested, "customer time")
    return requested.astimezone(tz)


def should_abandon(failed_attempts: int, rule: RetryRule = RetryRule()) -> bool:
    """RULES.md §5: after `rule.attempts` failed attempts the ticket is closed with the reason."""
    return failed_attempts >= rule.attempts
