"""Timer logic from a ticket's events, with the instants of each step given: holiday boundaries included."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest

from services.sla_monitor.handlers import PolicyView, apply_event, fire_due, recompute_deadlines
from services.sla_monitor.store import TicketTimers
from shared.branch_config import load_branch, load_calendar
from shared.events import Payload, SlaBreached, SlaEscalated, SlaWarning, UrgentNoticeRequested
from shared.policy import SlaClock
from shared.policy.calendar import YearSchedule
from tests.unit.sla_monitor.builders import (
    approved,
    at,
    attempted,
    closed,
    contacted,
    dispatched,
    extended,
    graded,
    received,
    rejected,
    reopened,
    replied,
    return_refused,
    returned,
    wrap,
)


@pytest.fixture(scope="module")
def view() -> PolicyView:
    return PolicyView(load_branch("default"), load_calendar())


@dataclass
class Life:
    """Plays a ticket's events at their instants and records every announcement made on the way."""

    view: PolicyView
    ticket: TicketTimers | None = None
    said: list[tuple[datetime, Payload]] = field(default_factory=list)

    def check(self, now: datetime) -> list[Payload]:
        if self.ticket is None:
            return []
        fresh = [a.event.payload for a in fire_due(self.ticket, now, self.view)]
        self.said.extend((now, p) for p in fresh)
        # what the table keeps must be what the next check sees
        self.ticket = TicketTimers.from_bytes(self.ticket.to_bytes())
        return fresh

    def play(self, when: datetime, payload: Payload) -> Life:
        self.check(when)
        self.ticket = apply_event(self.ticket, wrap(payload, when), self.view)
        return self

    def deadline(self, clock: str) -> datetime:
        assert self.ticket is not None
        return datetime.fromtimestamp(self.ticket.clocks[SlaClock(clock)].deadline, tz=at("2026-01-01 00:00").tzinfo)

    def kinds(self) -> list[str]:
        out = []
        for _, p in self.said:
            name = p.event_type
            if isinstance(p, SlaEscalated):
                name += f":{p.to_level}:{p.reason}"
            out.append(f"{name}:{getattr(p, 'clock', '')}")
        return out


# (case, category, dispatched at, clock, expected deadline) -- RULES.md §2 and §3 worked by hand
DEADLINES = [
    (
        "repair resolve over National Day ends on the make-up Saturday",
        "repair",
        "2026-09-30 15:00",
        "resolve",
        "2026-10-10 15:00",
    ),
    ("repair contact is natural time across midnight", "repair", "2026-09-30 23:30", "contact", "2026-10-01 01:30"),
    (
        "service request contact: 1 wd, a start on a holiday counts from the next working day",
        "service_request",
        "2026-10-03 11:00",
        "contact",
        "2026-10-09 00:00",
    ),
    (
        "complaint handle level 3 is 3 h of natural time on a holiday",
        "complaint",
        "2026-10-02 22:00",
        "handle",
        "2026-10-03 01:00",
    ),
    ("complaint resolve: 2 wd over Mid-Autumn", "complaint", "2026-09-24 09:00", "resolve", "2026-09-29 09:00"),
    ("report resolve: 5 wd from a Friday evening", "report", "2026-11-06 18:00", "resolve", "2026-11-13 18:00"),
]


@pytest.mark.parametrize(("case", "category", "start", "clock", "expected"), DEADLINES, ids=[d[0] for d in DEADLINES])
def test_unit_clock_deadlines_follow_the_calendar(view, case, category, start, clock, expected):
    life = Life(view).play(at(start) - timedelta(minutes=1), received(at(start) - timedelta(minutes=1), category))
    life.play(at(start), dispatched(category))
    assert life.deadline(clock) == at(expected)


def test_callback_clock_runs_from_the_reply_received_over_national_day(view):
    life = Life(view).play(at("2026-09-20 09:00"), received(at("2026-09-20 09:00"), "consultation"))
    life.play(at("2026-09-20 09:05"), dispatched("consultation"))
    life.play(at("2026-09-29 10:00"), replied())
    # approved a day later, but the clock runs from when the center received the reply
    life.play(at("2026-09-30 16:00"), approved(at("2026-09-30 15:00")))
    assert life.deadline("callback") == at("2026-10-08 15:00")
    assert life.check(at("2026-10-08 10:11")) == []
    assert [p.event_type for p in life.check(at("2026-10-08 10:12"))] == ["SlaWarning"]
    assert life.check(at("2026-10-08 14:59")) == []
    life.play(at("2026-10-08 14:59"), attempted())
    assert life.check(at("2026-10-20 00:00")) == []


def test_dispatch_clock_warns_at_80_percent_breaches_at_deadline_and_goes_to_the_center(view):
    life = Life(view).play(at("2026-09-30 23:58"), received(at("2026-09-30 23:58"), "repair"))
    assert life.check(at("2026-10-01 00:01")) == []
    warning = life.check(at("2026-10-01 00:02"))
    assert isinstance(warning[0], SlaWarning)
    share_of_limit = warning[0].elapsed_share  # the policy's 80 % (RULES.md §8), not a measured time
    assert share_of_limit == pytest.approx(0.8)
    assert life.check(at("2026-10-01 00:02:59")) == []
    out = life.check(at("2026-10-01 00:03:00.5"))
    breach, escalation = out
    assert isinstance(breach, SlaBreached) and breach.clock is SlaClock.DISPATCH
    assert breach.deadline == at("2026-10-01 00:03") and breach.late_by_seconds == pytest.approx(0.5)
    # no division yet: the dispatch step is the center's own
    assert isinstance(escalation, SlaEscalated) and (escalation.to_level, escalation.to_org_id) == ("center", "default")


def test_a_clock_stopped_in_time_owes_nothing(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "repair"))
    life.play(at("2026-11-02 09:03"), dispatched())
    life.play(at("2026-11-02 10:00"), contacted(at("2026-11-02 10:00")))
    life.play(at("2026-11-03 09:00"), replied())
    assert life.check(at("2026-12-31 00:00")) == []
    assert life.kinds() == []


def test_breach_goes_to_the_division_then_to_the_center_after_one_more_limit(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "repair"))
    life.play(at("2026-11-02 09:04"), dispatched())
    life.play(at("2026-11-02 09:05"), contacted(at("2026-11-02 09:05")))
    life.check(at("2026-11-05 09:04"))  # resolve (3 wd) due: warning long past, breach now
    assert life.kinds()[-2:] == ["SlaBreached:resolve", "SlaEscalated:division:breach:resolve"]
    assert life.check(at("2026-11-10 09:03")) == []
    assert life.kinds()[-1:] == ["SlaEscalated:division:breach:resolve"]
    life.check(at("2026-11-10 09:04"))  # three more working days
    assert life.kinds()[-1] == "SlaEscalated:center:further_limit_passed:resolve"


def test_level_one_complaint_goes_to_the_center_at_once_with_an_urgent_notice(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "complaint", level=1))
    life.play(at("2026-11-02 09:01"), dispatched("complaint", level=1))
    out = [
        p
        for p in life.check(at("2026-11-04 09:01"))  # handle (48 h) and resolve (2 wd) fall due together
        if getattr(p, "clock", None) is SlaClock.HANDLE
        or (isinstance(p, UrgentNoticeRequested) and "handle" in p.message)
    ]
    assert [type(p).__name__ for p in out] == ["SlaBreached", "SlaEscalated", "SlaEscalated", "UrgentNoticeRequested"]
    assert {(p.to_level, p.reason) for p in out if isinstance(p, SlaEscalated)} == {
        ("division", "breach"),
        ("center", "urgent"),
    }
    notice = next(p for p in out if isinstance(p, UrgentNoticeRequested))
    assert notice.reason == "sla_escalation" and {r.org_level for r in notice.recipients} == {"division", "center"}


def test_regrade_recomputes_handle_from_the_dispatch_instant(view):
    life = Life(view).play(at("2026-11-02 09:58"), received(at("2026-11-02 09:58"), "complaint"))
    life.play(at("2026-11-02 10:00"), dispatched("complaint"))
    assert life.deadline("handle") == at("2026-11-02 13:00")
    life.play(at("2026-11-02 11:00"), graded(2))
    assert life.deadline("handle") == at("2026-11-03 10:00")
    assert life.check(at("2026-11-02 13:30")) == []


def test_extension_moves_the_deadline_and_a_refused_one_is_not_an_event_here(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "repair"))
    life.play(at("2026-11-02 09:03"), dispatched())
    life.play(at("2026-11-04 09:00"), extended("resolve", at("2026-11-09 18:00")))
    assert life.deadline("resolve") == at("2026-11-09 18:00")
    life.check(at("2026-11-09 17:59"))
    assert "SlaBreached:resolve" not in life.kinds()
    life.check(at("2026-11-09 18:00"))
    assert "SlaBreached:resolve" in life.kinds()


def test_reopen_restarts_resolve_from_the_reopening(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "repair"))
    life.play(at("2026-11-02 09:03"), dispatched())
    life.play(at("2026-11-02 09:30"), contacted(at("2026-11-02 09:30")))
    life.play(at("2026-11-03 09:00"), replied())
    life.play(at("2026-11-03 10:00"), approved(at("2026-11-03 09:00")))
    life.play(at("2026-11-03 16:00"), attempted())
    life.play(at("2026-11-03 16:05"), reopened())
    assert life.deadline("resolve") == at("2026-11-06 16:05")
    life.check(at("2026-11-06 16:04"))
    assert "SlaBreached:resolve" not in life.kinds()


def test_return_restarts_dispatch_and_a_refused_return_revives_the_unit_clocks(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "repair"))
    life.play(at("2026-11-02 09:03"), dispatched())
    life.play(at("2026-11-02 09:30"), returned())
    assert life.deadline("dispatch") == at("2026-11-02 09:35")
    assert life.ticket is not None and not life.ticket.clocks[SlaClock.RESOLVE].running
    life.play(at("2026-11-02 09:32"), return_refused())
    assert life.ticket.clocks[SlaClock.RESOLVE].running and not life.ticket.clocks[SlaClock.DISPATCH].running
    assert life.deadline("resolve") == at("2026-11-05 09:03")


def test_a_rejected_reply_lets_the_unit_clocks_run_on(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "report"))
    life.play(at("2026-11-02 09:10"), dispatched("report"))
    life.play(at("2026-11-05 09:00"), replied())
    life.play(at("2026-11-05 10:00"), rejected())
    life.check(at("2026-11-09 09:10"))
    assert "SlaBreached:resolve" in life.kinds()


def test_exactly_one_breach_per_clock_whatever_the_rechecks_and_restarts(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "repair"))
    for minute in range(1, 30):
        life.check(at("2026-11-02 09:00") + timedelta(minutes=minute))
    life.play(at("2026-11-02 09:30"), dispatched())
    life.play(at("2026-11-02 09:40"), returned())  # dispatch clock restarts, already breached
    life.check(at("2026-11-02 10:40"))
    assert life.kinds().count("SlaBreached:dispatch") == 1
    assert life.kinds().count("SlaWarning:dispatch") == 1


def test_event_ids_are_deterministic_per_ticket_clock_and_kind(view):
    ids = []
    for _ in range(2):
        ticket = apply_event(None, wrap(received(at("2026-11-02 09:00")), at("2026-11-02 09:00")), view)
        assert ticket is not None
        ids.append([a.event.event_id for a in fire_due(ticket, at("2026-11-02 09:10"), view)])
    assert ids[0] == ids[1] and len(set(ids[0])) == len(ids[0])


@pytest.mark.parametrize("category", ["query"])
def test_nothing_is_timed_for_queries(view, category):
    ticket = apply_event(None, wrap(received(at("2026-11-02 09:00"), category), at("2026-11-02 09:00")), view)
    assert ticket is not None and ticket.next_due() is None


def test_declined_callback_starts_no_callback_clock_and_close_stops_everything(view):
    life = Life(view).play(
        at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "repair", callback={"mode": "declined"})
    )
    life.play(at("2026-11-02 09:03"), dispatched())
    life.play(at("2026-11-02 09:30"), contacted(at("2026-11-02 09:30")))
    life.play(at("2026-11-02 11:00"), replied())
    life.play(at("2026-11-02 12:00"), approved(at("2026-11-02 11:00")))
    assert life.ticket is not None and SlaClock.CALLBACK not in life.ticket.clocks
    life.play(at("2026-11-02 12:01"), closed())
    assert life.ticket.next_due() is None


def test_provisional_deadline_is_recomputed_when_the_year_is_loaded(view):
    life = Life(view).play(at("2026-12-31 14:50"), received(at("2026-12-31 14:50"), "consultation"))
    life.play(at("2026-12-31 15:00"), dispatched("consultation"))
    assert life.ticket is not None and life.ticket.clocks[SlaClock.RESOLVE].provisional
    assert life.deadline("resolve") == at("2027-01-01 15:00")
    year = YearSchedule(2027, {date(2027, 1, 1): "New Year's Day"}, {})
    loaded = PolicyView(view.branch, view.calendar.with_schedules([year]))
    moved = recompute_deadlines(life.ticket, loaded)
    assert [clock for clock, _, _ in moved] == [SlaClock.RESOLVE]
    assert life.deadline("resolve") == at("2027-01-04 15:00")
    assert not life.ticket.clocks[SlaClock.RESOLVE].provisional


def test_redelivered_events_change_nothing(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "repair"))
    life.play(at("2026-11-02 09:03"), dispatched())
    assert life.ticket is not None
    before = life.ticket.to_bytes()
    life.play(at("2026-11-02 09:03"), dispatched())
    life.play(at("2026-11-02 09:03"), received(at("2026-11-02 09:00"), "repair"))
    assert life.ticket.to_bytes() == before


# --------------------------------------------------------------------------- issue 13


def test_a_refusal_replied_after_two_working_days_breaches_resolve_once_and_stops(view):
    # RULES.md §2: a refused service request is explained and fed back within 2 wd of its dispatch
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "service_request"))
    life.play(at("2026-11-02 09:10"), dispatched("service_request"))
    life.play(at("2026-11-05 09:00"), replied().model_copy(update={"refused": True}))  # 3 wd later
    life.check(at("2026-11-05 09:00:01"))
    [breach] = [p for _, p in life.said if isinstance(p, SlaBreached) and p.clock == SlaClock.RESOLVE]
    assert breach.deadline == at("2026-11-04 09:10")  # dispatch + 2 wd, not + 7 wd
    assert life.ticket is not None and not life.ticket.clocks[SlaClock.RESOLVE].running
    life.check(at("2026-11-20 09:00"))
    assert life.kinds().count("SlaBreached:resolve") == 1


def test_a_refusal_in_time_breaches_nothing_and_a_plain_reply_keeps_seven_working_days(view):
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), "service_request"))
    life.play(at("2026-11-02 09:10"), dispatched("service_request"))
    life.play(at("2026-11-03 09:00"), replied().model_copy(update={"refused": True}))
    life.check(at("2026-11-20 09:00"))
    assert "SlaBreached:resolve" not in life.kinds()
    assert life.ticket is not None and life.ticket.clocks[SlaClock.RESOLVE].limit == "2wd"


def test_a_stricter_government_deadline_drives_every_clock_and_its_warning(view):
    government = at("2026-11-02 10:00")  # before the repair's 2 h contact limit from 09:10
    life = Life(view).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00"), external_deadline=government))
    life.play(at("2026-11-02 09:01"), dispatched())
    assert life.ticket is not None
    for clock in (SlaClock.CONTACT, SlaClock.RESOLVE):
        timer = life.ticket.clocks[clock]
        assert timer.deadline == government.timestamp()
        # 80 % of the time the government left from the clock's start
        assert timer.warn_at == pytest.approx(timer.start + (government.timestamp() - timer.start) * 0.8)
    life.check(at("2026-11-02 10:00:01"))
    breached = {p.clock for _, p in life.said if isinstance(p, SlaBreached)}
    assert breached == {SlaClock.CONTACT, SlaClock.RESOLVE}


def test_the_center_escalation_names_the_center_of_the_org_tree(view):
    named = PolicyView(view.branch, view.calendar, center_id="C-FILE")
    life = Life(named).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00")))
    life.play(at("2026-11-02 09:01"), dispatched().model_copy(update={"center_id": "C-NN"}))
    life.check(at("2026-11-02 12:00"))  # contact breached at 11:01
    life.check(at("2026-11-02 15:00"))  # a further 2 h passed at 13:01
    [to_center] = [p for _, p in life.said if isinstance(p, SlaEscalated) and p.to_level == "center"]
    assert to_center.to_org_id == "C-NN"
    # before dispatch names it, the branch's org file does (a dispatch clock breach is the center's own)
    early = Life(named).play(at("2026-11-02 09:00"), received(at("2026-11-02 09:00")))
    early.check(at("2026-11-02 09:20"))
    [own] = [p for _, p in early.said if isinstance(p, SlaEscalated) and p.to_level == "center"]
    assert own.to_org_id == "C-FILE"
