"""Complaint grading of RULES.md §4 (§14(六)): a pure function of a complaint and its subject's history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.policy.limits import ComplaintLevel


@dataclass(frozen=True)
class SubjectKey:
    """RULES.md §4: "the same matter" = branch + place + complaint type, as the agent recorded them."""

    branch: str
    place: str
    complaint_type: str

    @classmethod
    def of(cls, branch: str, place: str, complaint_type: str) -> SubjectKey:
        # Case and surrounding blanks are typing noise, not a different matter.
        return cls(branch.strip(), " ".join(place.split()).lower(), complaint_type.strip().lower())

    def __str__(self) -> str:
        return f"{self.branch}|{self.place}|{self.complaint_type}"


@dataclass(frozen=True)
class Complaint:
    """What grading needs of one complaint."""

    ticket_id: str
    complainant: str  # the customer or caller identity (account or normalised phone)
    received_at: datetime
    complainants: int = 1  # people behind it; >= 5 is a collective complaint
    litigation: bool = False
    media_exposure: bool = False  # exposed, or may be exposed, by media / press / outside websites
    preliminary: ComplaintLevel | None = None  # the agent's own grade (§14(六)), kept if more severe


@dataclass(frozen=True)
class GradingRules:
    """RULES.md §4 thresholds; window and counts are policy defaults, configurable per branch."""

    window_days: int = 30  # "within one month", read as the complaint's local date and the 29 before
    distinct_complainants: int = 5
    collective_size: int = 5
    same_customer_repeats: int = 5


class GradeReason(StrEnum):
    LITIGATION = "litigation"
    MEDIA = "media_exposure"
    SAME_CUSTOMER_REPEATS = "same_customer_repeats"
    DISTINCT_COMPLAINANTS = "distinct_complainants_in_window"
    COLLECTIVE = "collective_complaint"
    PRELIMINARY = "agent_preliminary_grade"
    ORDINARY = "ordinary"


@dataclass(frozen=True)
class Grade:
    level: ComplaintLevel
    reasons: tuple[GradeReason, ...] = field(default_factory=tuple)
    # different complainants of the subject in the window, this one included (RULES.md §4, level 2 at 5)
    distinct_complainants: int = 1


def _more_severe(a: ComplaintLevel, b: ComplaintLevel) -> ComplaintLevel:
    return a if a <= b else b


def grade_complaint(
    complaint: Complaint,
    history: Sequence[Complaint],
    tz: ZoneInfo,
    rules: GradingRules = GradingRules(),
) -> Grade:
    """The level of `complaint` given the earlier complaints about the same subject.

    `history` holds the subject's earlier complaints (any status); later ones are ignored so a
    replay grades exactly as it did live.
    """
    earlier = [c for c in history if c.received_at <= complaint.received_at and c.ticket_id != complaint.ticket_id]
    major: list[GradeReason] = []
    if complaint.litigation:
        major.append(GradeReason.LITIGATION)
    if complaint.media_exposure:
        major.append(GradeReason.MEDIA)
    repeats = 1 + sum(1 for c in earlier if c.complainant == complaint.complainant)
    if repeats >= rules.same_customer_repeats:  # "5次以上" includes 5
        major.append(GradeReason.SAME_CUSTOMER_REPEATS)
    general: list[GradeReason] = []
    in_window = _in_window(complaint.received_at, earlier, tz, rules.window_days)
    distinct = {c.complainant for c in in_window} | {complaint.complainant}
    if len(distinct) >= rules.distinct_complainants:
        general.append(GradeReason.DISTINCT_COMPLAINANTS)
    if complaint.complainants >= rules.collective_size:
        general.append(GradeReason.COLLECTIVE)

    people = len(distinct)
    if major:
        computed = Grade(ComplaintLevel.MAJOR, tuple(major), people)
    elif general:
        computed = Grade(ComplaintLevel.GENERAL, tuple(general), people)
    else:
        computed = Grade(ComplaintLevel.MINOR, (GradeReason.ORDINARY,), people)
    if complaint.preliminary is not None and complaint.preliminary < computed.level:
        return Grade(complaint.preliminary, (GradeReason.PRELIMINARY,), people)
    return computed


def _in_window(at: datetime, earlier: Iterable[Complaint], tz: ZoneInfo, days: int) -> list[Complaint]:
    last_day = at.astimezone(tz).date()
    first_day: date = last_day - timedelta(days=days - 1)
    return [c for c in earlier if first_day <= c.received_at.astimezone(tz).date() <= last_day]


@dataclass(frozen=True)
class Regrade:
    """An open complaint whose level a new complaint lifted (RULES.md §4: a grade only goes up)."""

    ticket_id: str
    previous: ComplaintLevel
    level: ComplaintLevel


def regrade_open_complaints(
    new_level: ComplaintLevel, open_levels: Iterable[tuple[str, ComplaintLevel]]
) -> list[Regrade]:
    """RULES.md §4: when a subject rises to level 2 or 1, every open complaint of it rises too."""
    if new_level is ComplaintLevel.MINOR:
        return []
    return [
        Regrade(ticket_id, level, _more_severe(level, new_level))
        for ticket_id, level in open_levels
        if new_level < level
    ]
