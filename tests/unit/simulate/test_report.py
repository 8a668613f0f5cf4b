"""The SLA report computed from a list of published events: on-time per clock, unit and division, and the rest."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline.simulate.output import write_events, write_report
from hotline.simulate.report import UNASSIGNED, Report, build_report
from shared.events import (
    CallbackAbandoned,
    CallbackAttempted,
    CallbackCompleted,
    CallbackScheduled,
    ComplaintDetails,
    ComplaintGraded,
    CustomerContacted,
    Event,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    Payload,
    ReplyApproved,
    SlaBreached,
    SlaEscalated,
    SlaWarning,
    TicketClosed,
    TicketDispatched,
    TicketReceived,
    TicketReopened,
    TicketReplied,
    TicketResolvedOnFirstContact,
    TicketReturned,
    new_event,
)
from shared.policy.categories import Category
from shared.policy.grading import GradeReason
from shared.policy.limits import CallbackKind, ComplaintLevel, SlaClock

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=CST)
DIVISION = {"U-QINGXIU": "D-EAST", "U-XINGNING": "D-EAST", "U-XIXIANGTANG": "D-WEST"}


class Story:
    """One ticket's published history, each event a few minutes after the one before."""

    def __init__(self, ticket: str, category: Category = Category.REPAIR, **received: object) -> None:
        self.ticket, self.category, self.at, self.events = ticket, category, T0, []
        self.add(TicketReceived(channel="phone", category=category, received_at=T0, **received))  # type: ignore[arg-type]

    def add(self, payload: Payload, minutes: float = 5) -> Story:
        self.at += timedelta(minutes=minutes)
        producer = "sla_monitor" if payload.topic == "hotline.sla" else "test"
        self.events.append(
            new_event(
                payload,
                branch="demo",
                producer=producer,
                correlation_id="c",
                occurred_at=self.at,
                ticket_id=self.ticket,
            )
        )
        return self

    def dispatch(self, unit: str, count: int = 1) -> Story:
        return self.add(
            TicketDispatched(
                unit_id=unit, division_id=DIVISION[unit], category=self.category, mode="automatic", dispatch_count=count
            )
        )

    def contact(self, unit: str) -> Story:
        return self.add(CustomerContacted(unit_id=unit, handler_id="h", contacted_at=self.at, method="phone"))

    def reply(self, unit: str, minutes: float = 30) -> Story:
        return self.add(TicketReplied(reply_id=f"r-{self.at:%H%M}", unit_id=unit, handler_id="h", result="ok"), minutes)

    def approve_and_schedule(self, unit: str) -> Story:
        self.add(ReplyApproved(reply_id="r", unit_id=unit, reviewer_id="c", reply_received_at=self.at))
        return self.add(
            CallbackScheduled(
                callback_id="cb",
                kind=CallbackKind.SURVEY,
                due_at=self.at + timedelta(days=1),
                scheduled_for=self.at,
                attempt_number=1,
                reason="reply_received",
            )
        )

    def attempt(self, outcome: str, number: int = 1) -> Story:
        return self.add(CallbackAttempted(callback_id="cb", attempt_number=number, agent_id="a", outcome=outcome))

    def complete(self, unit: str, satisfaction: int, solved: bool = True) -> Story:
        self.add(
            CallbackCompleted(
                callback_id="cb",
                kind=CallbackKind.SURVEY,
                agent_id="a",
                unit_id=unit,
                division_id=DIVISION[unit],
                category=self.category,
                problem_solved=solved,
                satisfaction=satisfaction,
            )
        )
        return self.add(TicketClosed(reason="callback_completed"))

    def breach(self, clock: SlaClock, unit: str | None, escalate: bool = True) -> Story:
        division = DIVISION.get(unit or "")
        self.add(
            SlaBreached(
                clock=clock,
                deadline=self.at,
                unit_id=unit,
                division_id=division,
                category=self.category,
                late_by_seconds=1.0,
            ),
            0.1,
        )
        if escalate and division:
            self.add(
                SlaEscalated(
                    clock=clock,
                    deadline=self.at,
                    to_level="division",
                    to_org_id=division,
                    unit_id=unit,
                    division_id=division,
                    reason="breach",
                    late_by_seconds=1.0,
                ),
                0.1,
            )
        return self


def _all(*stories: Story) -> Iterator[Event[Payload]]:
    for story in stories:
        yield from story.events


def _rate(report: Report, level: str, org: str, clock: str) -> tuple[int, int, int]:
    row = next(r for r in report.clock_rows if (r.level, r.org_id, r.clock) == (level, org, clock))
    return row.met, row.breached, row.running


def _activity(report: Report, level: str, org: str) -> dict[str, int]:
    return dict(next(r for r in report.org_rows if (r.level, r.org_id) == (level, org)).counts)


def test_a_repair_done_in_time_meets_every_clock_and_counts_its_survey() -> None:
    story = Story("t1").dispatch("U-QINGXIU").contact("U-QINGXIU").reply("U-QINGXIU")
    story.approve_and_schedule("U-QINGXIU").attempt("reached").complete("U-QINGXIU", satisfaction=4)
    report = build_report(story.events)
    for clock in ("dispatch", "contact", "resolve", "callback"):
        assert _rate(report, "unit", "U-QINGXIU", clock) == (1, 0, 0)
        assert _rate(report, "division", "D-EAST", clock) == (1, 0, 0)
    assert report.branch_clock("resolve") is not None and report.branch_clock("resolve").on_time_rate == 1.0  # type: ignore[union-attr]
    activity = _activity(report, "unit", "U-QINGXIU")
    assert activity["callbacks_completed"] == 1 and activity["surveys"] == 1 and activity["solved"] == 1
    assert report.ratings[4] == 1 and report.closed["callback_completed"] == 1 and report.open_tickets == 0


def test_a_late_reply_is_a_breach_of_the_unit_and_its_division_with_the_escalation() -> None:
    on_time = Story("ok", Category.CONSULTATION).dispatch("U-XIXIANGTANG").reply("U-XIXIANGTANG")
    late = Story("late", Category.CONSULTATION).dispatch("U-XIXIANGTANG")
    late.add(
        SlaWarning(
            clock=SlaClock.RESOLVE,
            started_at=T0,
            deadline=T0 + timedelta(days=1),
            unit_id="U-XIXIANGTANG",
            division_id="D-WEST",
            elapsed_share=0.8,
        )
    )
    late.breach(SlaClock.RESOLVE, "U-XIXIANGTANG").reply("U-XIXIANGTANG")
    report = build_report(_all(on_time, late))
    assert _rate(report, "unit", "U-XIXIANGTANG", "resolve") == (1, 1, 0)
    assert _rate(report, "division", "D-WEST", "resolve") == (1, 1, 0)
    row = report.branch_clock("resolve")
    assert row is not None and row.on_time_rate == 0.5
    activity = _activity(report, "unit", "U-XIXIANGTANG")
    assert activity["breaches"] == 1 and activity["escalations_division"] == 1 and activity["warnings"] == 1
    assert report.escalations == {"division/breach": 1}


def test_a_return_counts_against_the_returning_unit_and_the_new_unit_owns_the_clocks() -> None:
    story = Story("t").dispatch("U-QINGXIU")
    story.add(TicketReturned(unit_id="U-QINGXIU", handler_id="h", reason="outside_duties"))
    story.dispatch("U-XINGNING", count=2).contact("U-XINGNING").reply("U-XINGNING")
    report = build_report(story.events)
    assert _activity(report, "unit", "U-QINGXIU")["returns"] == 1
    assert _rate(report, "unit", "U-XINGNING", "contact") == (1, 0, 0)
    assert _rate(report, "unit", "U-XINGNING", "resolve") == (1, 0, 0)
    assert not any(r.org_id == "U-QINGXIU" and r.clock == "resolve" for r in report.clock_rows)


def test_a_dispatch_breached_in_the_center_queue_is_nobody_units() -> None:
    story = Story("t").breach(SlaClock.DISPATCH, None).dispatch("U-QINGXIU")
    report = build_report(story.events)
    assert _rate(report, "unit", UNASSIGNED, "dispatch") == (0, 1, 0)


def test_extensions_requested_granted_and_denied_per_unit() -> None:
    extension = {"unit_id": "U-QINGXIU", "clock": SlaClock.RESOLVE}
    story = Story("t", Category.CONSULTATION).dispatch("U-QINGXIU")
    for request_id in ("x1", "x2"):
        story.add(
            ExtensionRequested(
                request_id=request_id,
                handler_id="h",
                current_deadline=T0 + timedelta(days=1),
                requested_deadline=T0 + timedelta(days=2),
                reason_text="more time",
                **extension,  # type: ignore[arg-type]
            )
        )
    story.add(ExtensionGranted(request_id="x1", new_deadline=T0 + timedelta(days=2), supervisor_id="c", **extension))  # type: ignore[arg-type]
    story.add(ExtensionDenied(request_id="x2", supervisor_id="c", **extension))  # type: ignore[arg-type]
    activity = _activity(build_report(story.events), "division", "D-EAST")
    assert (activity["extensions_requested"], activity["extensions_granted"], activity["extensions_denied"]) == (
        2,
        1,
        1,
    )


def test_an_unreachable_customer_abandons_the_callback_and_closes_the_ticket() -> None:
    story = Story("t").dispatch("U-XINGNING").contact("U-XINGNING").reply("U-XINGNING")
    story.approve_and_schedule("U-XINGNING")
    for number in (1, 2, 3):
        story.attempt("no_answer", number)
    story.add(CallbackAbandoned(callback_id="cb", attempts=3, last_outcome="no_answer", reason_text="3 x no answer"))  # type: ignore[arg-type]
    story.add(TicketClosed(reason="callback_abandoned"))
    report = build_report(story.events)
    assert report.attempts == {"no_answer": 3}
    assert _activity(report, "unit", "U-XINGNING")["callbacks_abandoned"] == 1
    assert _rate(report, "unit", "U-XINGNING", "callback") == (1, 0, 0)  # the first attempt was in time
    assert report.closed == {"callback_abandoned": 1}


def test_a_reopened_ticket_runs_its_resolve_clock_again() -> None:
    story = Story("t", Category.CONSULTATION).dispatch("U-QINGXIU").reply("U-QINGXIU")
    story.approve_and_schedule("U-QINGXIU").attempt("reached")  # the customer says it is not fixed
    story.add(
        TicketReopened(
            unit_id="U-QINGXIU", reason="reply_does_not_match_facts", customer_account="not fixed", agent_id="a"
        )
    )
    report = build_report(story.events)
    assert _rate(report, "unit", "U-QINGXIU", "resolve") == (0, 0, 1)  # running again, not yet replied
    assert _activity(report, "unit", "U-QINGXIU")["reopened"] == 1
    assert report.open_tickets == 1


def test_complaints_are_counted_at_their_final_level() -> None:
    details = ComplaintDetails(subject_key="demo|A|billing", place="A", complaint_type="billing")
    lifted = Story("c1", Category.COMPLAINT, complaint=details)
    lifted.add(
        ComplaintGraded(
            level=ComplaintLevel.GENERAL,
            previous_level=ComplaintLevel.MINOR,
            subject_key="demo|A|billing",
            reasons=(GradeReason.DISTINCT_COMPLAINANTS,),
        )
    )
    lifted.add(
        ComplaintGraded(level=ComplaintLevel.MAJOR, subject_key="demo|A|billing", reasons=(GradeReason.LITIGATION,))
    )
    plain = Story("c2", Category.COMPLAINT, complaint=details)
    report = build_report(_all(lifted, plain))
    assert report.complaint_levels == {1: 1, 3: 1}


def test_tickets_from_before_the_run_and_answers_on_the_call_owe_no_clock() -> None:
    before = Story("old").dispatch("U-QINGXIU")
    before.events.pop(0)  # its TicketReceived was published before the observer started
    on_call = Story("q", Category.CONSULTATION)
    on_call.add(TicketResolvedOnFirstContact(agent_id="a", answer="told"))
    report = build_report(_all(before, on_call))
    assert report.received == 1 and report.closed_on_call == 1 and report.open_tickets == 0
    assert report.clock_rows == []
    assert all(sum(r.counts.values()) == 0 for r in report.org_rows)


def test_the_report_is_written_as_csv_and_a_png_chart(tmp_path: Path) -> None:
    good = Story("t1").dispatch("U-QINGXIU").contact("U-QINGXIU").reply("U-QINGXIU")
    good.approve_and_schedule("U-QINGXIU").attempt("reached").complete("U-QINGXIU", satisfaction=5)
    late = Story("t2", Category.CONSULTATION).dispatch("U-XIXIANGTANG").breach(SlaClock.RESOLVE, "U-XIXIANGTANG")
    paths = write_report(build_report(_all(good, late)), tmp_path / "out")
    assert {p.name for p in paths} == {"on_time.csv", "activity.csv", "report.txt", "chart.png"}
    rows = list(csv.DictReader((tmp_path / "out" / "on_time.csv").open()))
    resolve = {(r["level"], r["org_id"]): r for r in rows if r["clock"] == "resolve"}
    assert resolve[("division", "D-WEST")]["on_time_rate"] == "0.0"
    assert resolve[("branch", "all")]["met"] == "1" and resolve[("branch", "all")]["breached"] == "1"
    activity = {r["org_id"]: r for r in csv.DictReader((tmp_path / "out" / "activity.csv").open())}
    assert activity["U-QINGXIU"]["average_satisfaction"] == "5.0"
    assert (tmp_path / "out" / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "On-time rate" in (tmp_path / "out" / "report.txt").read_text()


@pytest.mark.parametrize("events", [[]])
def test_an_empty_run_still_reports(events: list[Event[Payload]], tmp_path: Path) -> None:
    report = build_report(events)
    assert report.received == 0 and report.clock_rows == []
    assert (tmp_path / "r" / "chart.png") in write_report(report, tmp_path / "r")


def test_automatic_dispatch_delay_is_reported_in_simulated_minutes() -> None:
    stories = [Story(f"t{i}").add(TicketResolvedOnFirstContact(agent_id="a", answer="x"), 0) for i in range(2)]
    stories += [Story(f"d{i}").dispatch("U-QINGXIU") for i in range(3)]  # published at +5, dispatched at +10
    report = build_report(_all(*stories))
    assert report.dispatch_minutes == [10.0, 10.0, 10.0]
    assert report.dispatch_percentile(0.5) == 10.0


def test_the_events_file_masks_the_callers_personal_data(tmp_path: Path) -> None:
    from shared.events import CustomerDetails

    story = Story("t", customer=CustomerDetails(name="王伟", phone="13900000000", address="青秀区民族大道1号"))
    path = write_events(story.events, tmp_path / "events.jsonl")
    text = path.read_text()
    assert "TicketReceived" in text
    assert "13900000000" not in text and "王伟" not in text and "民族大道" not in text


def test_without_matplotlib_the_report_is_written_without_its_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the services' image installs no `report` extra: `hotline simulate` there writes the rest
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    paths = write_report(build_report([]), tmp_path / "r")
    assert {p.name for p in paths} == {"on_time.csv", "activity.csv", "report.txt"}
    assert not (tmp_path / "r" / "chart.png").exists()
