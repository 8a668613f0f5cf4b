"""The clocks and limits of RULES.md §2 as data, and the lookup that applies a branch's overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from shared.policy.categories import Category, PolicyError


class SlaClock(StrEnum):
    """RULES.md §2: the clocks a ticket may run, each named for the step that stops it."""

    DISPATCH = "dispatch"  # from receipt, stops when dispatched
    CONTACT = "contact"  # from dispatch, stops when the unit contacted the customer
    HANDLE = "handle"  # complaints only: from dispatch, by level
    RESOLVE = "resolve"  # from dispatch, stops at the unit's reply
    CALLBACK = "callback"  # from the reply received, stops at the first attempt made


# RULES.md §2: the clocks the responsible unit runs, all from dispatch (contact, the complaint's handle, resolve):
# they restart at a new dispatch and stop when the unit returns the ticket or replies
UNIT_CLOCKS: tuple[SlaClock, ...] = (SlaClock.CONTACT, SlaClock.HANDLE, SlaClock.RESOLVE)


class LimitUnit(StrEnum):
    MINUTES = "minutes"  # natural time: the hotline works 24/7
    WORKING_DAYS = "working_days"  # RULES.md §3


class ComplaintLevel(IntEnum):
    """RULES.md §4: 1 is the most severe (重大), 3 the least (轻度)."""

    MAJOR = 1
    GENERAL = 2
    MINOR = 3


class CallbackKind(StrEnum):
    """RULES.md §2: a survey asks solved + satisfaction; a reply tells the result."""

    SURVEY = "survey"  # 回访
    REPLY = "reply"  # 回复


@dataclass(frozen=True, order=True)
class Limit:
    """A time limit: an amount of natural minutes or of working days."""

    amount: int
    unit: LimitUnit

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"a limit must be positive, got {self.amount}")

    @classmethod
    def minutes(cls, amount: int) -> Limit:
        return cls(amount, LimitUnit.MINUTES)

    @classmethod
    def hours(cls, amount: int) -> Limit:
        return cls(amount * 60, LimitUnit.MINUTES)

    @classmethod
    def working_days(cls, amount: int) -> Limit:
        return cls(amount, LimitUnit.WORKING_DAYS)

    @classmethod
    def parse(cls, text: str) -> Limit:
        """'20min', '2h', '48h', '3wd' (as written in branch files)."""
        raw = text.strip().lower().replace(" ", "")
        for suffix, build in (("min", cls.minutes), ("wd", cls.working_days), ("h", cls.hours)):
            if raw.endswith(suffix) and raw[: -len(suffix)].isdigit():
                return build(int(raw[: -len(suffix)]))
        raise ValueError(f"cannot read limit {text!r}; write e.g. '20min', '2h' or '3wd'")

    def __str__(self) -> str:
        if self.unit is LimitUnit.WORKING_DAYS:
            return f"{self.amount}wd"
        if self.amount % 60 == 0:
            return f"{self.amount // 60}h"
        return f"{self.amount}min"


MIN = Limit.minutes
H = Limit.hours
WD = Limit.working_days

# RULES.md §2, the table row by row. A clock absent from a category's row does not run for it.
# Complaint `handle` depends on the level and lives in COMPLAINT_HANDLE below.
REGULATION_LIMITS: Mapping[Category, Mapping[SlaClock, Limit]] = {
    Category.QUERY: {},  # §14(一): answered on the call
    Category.CONSULTATION: {SlaClock.DISPATCH: MIN(20), SlaClock.RESOLVE: WD(1), SlaClock.CALLBACK: WD(1)},
    # §14(三): the unit is phoned right after the call; 5 min is the policy default target.
    Category.ALARM: {SlaClock.DISPATCH: MIN(5), SlaClock.CALLBACK: WD(1)},
    Category.REPAIR: {
        SlaClock.DISPATCH: MIN(5),
        SlaClock.CONTACT: H(2),
        SlaClock.RESOLVE: WD(3),
        SlaClock.CALLBACK: WD(1),
    },
    Category.SERVICE_REQUEST: {
        SlaClock.DISPATCH: MIN(20),
        SlaClock.CONTACT: WD(1),
        SlaClock.RESOLVE: WD(7),
        SlaClock.CALLBACK: WD(1),
    },
    Category.COMPLAINT: {
        SlaClock.DISPATCH: MIN(5),
        SlaClock.RESOLVE: WD(2),  # §14(六): investigation, result and feedback
        SlaClock.CALLBACK: WD(1),
    },
    Category.REPORT: {SlaClock.DISPATCH: MIN(20), SlaClock.RESOLVE: WD(5), SlaClock.CALLBACK: WD(1)},
    Category.OPINION: {SlaClock.DISPATCH: MIN(20), SlaClock.RESOLVE: WD(5), SlaClock.CALLBACK: WD(1)},
    Category.SUGGESTION: {SlaClock.DISPATCH: MIN(20), SlaClock.RESOLVE: WD(5), SlaClock.CALLBACK: WD(1)},
    Category.PRAISE: {SlaClock.DISPATCH: MIN(20)},  # §14(八): the unit verifies; no callback
}

# RULES.md §2 / §14(六): complaint handling limit by level.
COMPLAINT_HANDLE: Mapping[ComplaintLevel, Limit] = {
    ComplaintLevel.MINOR: H(3),
    ComplaintLevel.GENERAL: H(24),
    ComplaintLevel.MAJOR: H(48),
}

# RULES.md §2 / §14(五): a refused service request is explained and fed back within 2 wd.
SERVICE_REQUEST_REFUSAL: Limit = WD(2)

# RULES.md §2 / §14(九): the callback owed per category; None = no callback.
CALLBACK_KIND: Mapping[Category, CallbackKind | None] = {
    Category.QUERY: None,
    Category.CONSULTATION: CallbackKind.REPLY,
    Category.ALARM: CallbackKind.SURVEY,
    Category.REPAIR: CallbackKind.SURVEY,
    Category.SERVICE_REQUEST: CallbackKind.SURVEY,
    Category.COMPLAINT: CallbackKind.SURVEY,
    Category.REPORT: CallbackKind.SURVEY,
    Category.OPINION: CallbackKind.SURVEY,
    Category.SUGGESTION: CallbackKind.REPLY,
    Category.PRAISE: None,
}


@dataclass(frozen=True)
class LimitOverrides:
    """A branch's stricter local limits (RULES.md §2, §14(六)); keys are (category, clock) or levels."""

    by_clock: Mapping[tuple[Category, SlaClock], Limit]
    complaint_handle: Mapping[ComplaintLevel, Limit]

    @classmethod
    def none(cls) -> LimitOverrides:
        return cls(by_clock={}, complaint_handle={})


def clocks_for(category: Category) -> tuple[SlaClock, ...]:
    """The clocks that run for a ticket of `category`, in lifecycle order."""
    row = REGULATION_LIMITS[category]
    present = set(row) | ({SlaClock.HANDLE} if category is Category.COMPLAINT else set())
    return tuple(clock for clock in SlaClock if clock in present)


def parse_clock(value: str) -> SlaClock:
    try:
        return SlaClock(value.strip().lower())
    except ValueError:
        accepted = ", ".join(c.value for c in SlaClock)
        raise PolicyError("--clock", f"unknown clock {value!r}; expected one of {accepted}") from None


def parse_level(value: int | str | None) -> ComplaintLevel | None:
    if value is None:
        return None
    try:
        return ComplaintLevel(int(value))
    except ValueError:
        raise PolicyError("--level", f"complaint level must be 1, 2 or 3, got {value!r}") from None


def limit_for(
    category: Category,
    clock: SlaClock,
    *,
    level: ComplaintLevel | None = None,
    refused: bool = False,
    overrides: LimitOverrides | None = None,
) -> Limit:
    """The limit of `clock` for a ticket of `category`, after the branch's stricter overrides.

    Raises PolicyError naming the argument when the category has no such clock, when a
    complaint's `handle` clock is asked without a level, or a level is given for another category.
    """
    overrides = overrides or LimitOverrides.none()
    if level is not None and category is not Category.COMPLAINT:
        raise PolicyError("--level", f"a level applies to complaints only, not to {category.value!r}")
    if refused and not (category is Category.SERVICE_REQUEST and clock is SlaClock.RESOLVE):
        raise PolicyError("--refused", "a refusal limit exists only for a service request's resolve clock")
    if clock is SlaClock.HANDLE and category is Category.COMPLAINT:
        if level is None:
            raise PolicyError("--level", "the complaint handle clock needs a level (1, 2 or 3)")
        return overrides.complaint_handle.get(level, COMPLAINT_HANDLE[level])
    if refused:
        return SERVICE_REQUEST_REFUSAL
    row = REGULATION_LIMITS[category]
    if clock not in row:
        available = ", ".join(c.value for c in clocks_for(category)) or "none"
        raise PolicyError(
            "--clock", f"category {category.value!r} has no {clock.value!r} clock (its clocks: {available})"
        )
    return overrides.by_clock.get((category, clock), row[clock])


def callback_kind(category: Category) -> CallbackKind | None:
    """RULES.md §2 / §14(九): survey, reply or None for a ticket of `category`."""
    return CALLBACK_KIND[category]
