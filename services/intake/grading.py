"""What complaint grading keeps of each complaint and how it grades a subject's book (RULES.md §4).

The Faust app that feeds it (`services.intake.app`) keeps one book a subject; these are the pure steps.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from services.intake.handlers import Policies, complainant_of
from shared.events import ComplaintGraded, Event, TicketReceived, deterministic_event_id, new_event
from shared.policy.grading import Complaint, Grade, GradeReason, grade_complaint, regrade_open_complaints
from shared.policy.limits import ComplaintLevel


def _hash(complainant: str) -> str:
    # the table and its changelog topic must hold no phone number or account (RULES.md §6)
    return hashlib.sha256(complainant.encode()).hexdigest()[:32]


def complaint_note(event: Event[Any], payload: TicketReceived) -> dict[str, Any]:
    """What grading keeps of a new complaint (no personal data)."""
    assert payload.complaint is not None and event.ticket_id is not None
    details = payload.complaint
    return {
        "kind": "complaint",
        "ticket_id": event.ticket_id,
        "branch": event.branch,
        "subject_key": details.subject_key,
        "complainant": _hash(complainant_of(payload.customer, event.ticket_id)),
        "received_at": payload.received_at.isoformat(),
        "complainants": details.complainant_count,
        "litigation": details.litigation,
        "media_exposure": details.media_exposure,
        "preliminary": int(details.preliminary_level) if details.preliminary_level else None,
        "level": int(details.level),
        "occurred_at": event.occurred_at.isoformat(),
        "open": True,
    }


def _complaint(note: dict[str, Any]) -> Complaint:
    return Complaint(
        ticket_id=note["ticket_id"],
        complainant=note["complainant"],
        received_at=datetime.fromisoformat(note["received_at"]),
        complainants=note["complainants"],
        litigation=note["litigation"],
        media_exposure=note["media_exposure"],
        preliminary=ComplaintLevel(note["preliminary"]) if note["preliminary"] else None,
    )


def grade_new_complaint(
    book: list[dict[str, Any]], note: dict[str, Any], policies: Policies
) -> tuple[list[dict[str, Any]], list[Event[Any]]]:
    """RULES.md §4: grade a subject's new complaint and lift its open ones; returns the book and the events."""
    if any(c["ticket_id"] == note["ticket_id"] for c in book):
        return book, []  # redelivered
    policy = policies.branch(note["branch"])
    grade = grade_complaint(_complaint(note), [_complaint(c) for c in book], policy.timezone, policy.grading)
    at_receipt = ComplaintLevel(note["level"])
    level = min(grade.level, at_receipt)  # a grade only goes up (1 is the most severe)
    reasons = grade.reasons if grade.level <= at_receipt else (GradeReason.PRELIMINARY,)
    occurred_at = datetime.fromisoformat(note["occurred_at"])
    events: list[Event[Any]] = []
    if level < ComplaintLevel.MINOR:
        events.append(_graded(note, note["ticket_id"], level, at_receipt, reasons, occurred_at, grade))
    # the agent's preliminary grade weighs one complaint, not the whole matter (§14(六))
    subject_level = grade.level if set(grade.reasons) != {GradeReason.PRELIMINARY} else ComplaintLevel.MINOR
    open_levels = [(c["ticket_id"], ComplaintLevel(c["level"])) for c in book if c["open"]]
    lifted = {r.ticket_id: r for r in regrade_open_complaints(subject_level, open_levels)}
    updated: list[dict[str, Any]] = []
    for complaint in book:
        regrade = lifted.get(complaint["ticket_id"])
        if regrade is not None:
            complaint = {**complaint, "level": int(regrade.level)}
            events.append(
                _graded(note, regrade.ticket_id, regrade.level, regrade.previous, grade.reasons, occurred_at, grade)
            )
        updated.append(complaint)
    updated.append({**note, "level": int(level)})
    return updated, events


def close_complaint(book: list[dict[str, Any]], ticket_id: str) -> list[dict[str, Any]]:
    return [{**c, "open": False} if c["ticket_id"] == ticket_id else c for c in book]


def _graded(
    note: dict[str, Any],
    ticket_id: str,
    level: ComplaintLevel,
    previous: ComplaintLevel,
    reasons: tuple[GradeReason, ...],
    occurred_at: datetime,
    grade: Grade,
) -> Event[Any]:
    text = ", ".join(r.value for r in reasons)
    return new_event(
        ComplaintGraded(
            level=level,
            previous_level=previous,
            subject_key=note["subject_key"],
            reasons=reasons,
            reason_text=f"subject {note['subject_key']} graded {int(level)} by {note['ticket_id']}: {text}"[:2000],
            distinct_complainants=grade.distinct_complainants,  # of the subject in the window (RULES.md §4)
        ),
        ticket_id=ticket_id,
        branch=note["branch"],
        producer="intake",
        correlation_id=note["ticket_id"],
        occurred_at=occurred_at,
        event_id=deterministic_event_id("ComplaintGraded", ticket_id, int(level)),
    )
