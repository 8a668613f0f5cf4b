"""Seeded traffic of whole ticket stories (the simulator's report tests' Story), for the figures' tests."""

from __future__ import annotations

import random
from datetime import timedelta

from shared.events import (
    CallbackAbandoned,
    ComplaintDetails,
    ComplaintGraded,
    Event,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    Payload,
    ReplyRejected,
    SlaWarning,
    TicketClosed,
    TicketReopened,
    TicketResolvedOnFirstContact,
    TicketReturned,
)
from shared.policy.categories import Category
from shared.policy.grading import GradeReason
from shared.policy.limits import ComplaintLevel, SlaClock
from tests.unit.simulate.test_report import DIVISION, Story

UNITS = sorted(DIVISION)
DETAILS = ComplaintDetails(subject_key="demo|A|billing", place="A", complaint_type="billing", collective=False)


def story(rng: random.Random, n: int) -> Story:
    category = rng.choice([Category.REPAIR, Category.CONSULTATION, Category.COMPLAINT, Category.QUERY])
    extra = {"complaint": DETAILS} if category is Category.COMPLAINT else {}
    s = Story(f"T-{n:04d}", category, **extra)
    s.at += timedelta(hours=n)  # spread over days: received at T0 + n hours
    if category is Category.QUERY and rng.random() < 0.7:
        return s.add(TicketResolvedOnFirstContact(agent_id="a", answer="told"))
    if category is Category.COMPLAINT and rng.random() < 0.5:
        s.add(
            ComplaintGraded(
                level=ComplaintLevel.GENERAL,
                previous_level=ComplaintLevel.MINOR,
                subject_key="demo|A|billing",
                reasons=(GradeReason.SAME_CUSTOMER_REPEATS,),
            )
        )
    if rng.random() < 0.1:
        return s.breach(SlaClock.DISPATCH, None, escalate=False)  # nobody dispatched it
    unit = rng.choice(UNITS)
    s.dispatch(unit)
    if rng.random() < 0.2:
        s.add(TicketReturned(unit_id=unit, handler_id="h", reason="outside_duties"))
        unit = rng.choice([u for u in UNITS if u != unit])
        s.dispatch(unit, count=2)
    if rng.random() < 0.3:
        s.add(SlaWarning(clock=SlaClock.RESOLVE, started_at=s.at, deadline=s.at, unit_id=unit, elapsed_share=0.8))
    if rng.random() < 0.8:
        s.contact(unit)
    if rng.random() < 0.25:
        s.add(
            ExtensionRequested(
                request_id="x",
                unit_id=unit,
                handler_id="h",
                clock=SlaClock.RESOLVE,
                current_deadline=s.at,
                requested_deadline=s.at + timedelta(days=1),
                reason_text="parts",
            )
        )
        decided: Payload = (
            ExtensionGranted(request_id="x", unit_id=unit, clock=SlaClock.RESOLVE, new_deadline=s.at, supervisor_id="c")
            if rng.random() < 0.6
            else ExtensionDenied(request_id="x", unit_id=unit, clock=SlaClock.RESOLVE, supervisor_id="c")
        )
        s.add(decided)
    if rng.random() < 0.25:
        s.breach(SlaClock.RESOLVE, unit, escalate=rng.random() < 0.7)
    s.reply(unit)
    if rng.random() < 0.15:
        s.add(ReplyRejected(reply_id="r", unit_id=unit, reviewer_id="c", reason="incomplete"))
        s.reply(unit)
    s.approve_and_schedule(unit)
    roll = rng.random()
    if roll < 0.15:
        for number in (1, 2, 3):
            s.attempt("no_answer", number)
        s.add(CallbackAbandoned(callback_id="cb", attempts=3, last_outcome="no_answer", reason_text="3 x"))  # type: ignore[arg-type]
        s.add(TicketClosed(reason="callback_abandoned"))
    elif roll < 0.3:
        s.attempt("reached")
        s.add(TicketReopened(unit_id=unit, reason="reply_does_not_match_facts", customer_account="no", agent_id="a"))
    elif roll < 0.4:
        s.breach(SlaClock.CALLBACK, unit)
    else:
        s.attempt("reached")
        s.complete(unit, satisfaction=rng.randint(1, 5), solved=rng.random() < 0.8)
    return s


def traffic(seed: int, tickets: int) -> list[Event[Payload]]:
    rng = random.Random(seed)
    events = [e for n in range(tickets) for e in story(rng, n).events]
    return sorted(events, key=lambda e: e.occurred_at)
