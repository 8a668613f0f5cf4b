"""Issue 18's console parts that need no server: who hears the wallboard, the forms, the board's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.console.clients import ApiFailure
from services.console.handlers import reporting
from services.console.live import Listener, concerns
from shared.branch_config import BranchPolicies
from shared.events import Event, Payload, SlaBreached, TicketAccepted, new_event
from shared.policy.categories import Category
from shared.policy.limits import SlaClock

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


def _event(payload: Payload, branch: str = "demo") -> Event[Payload]:
    return new_event(
        payload, branch=branch, producer="sla_monitor", ticket_id="T-1", correlation_id="c", occurred_at=NOW
    )


def _board(role: str, division: str | None = None, *, wallboard: bool = True) -> Listener:
    return Listener(subject="s", role=role, branch="demo", locale="en", division=division, wallboard=wallboard)


BREACH = SlaBreached(
    clock=SlaClock.CONTACT,
    deadline=NOW,
    unit_id="U-QINGXIU",
    division_id="D-EAST",
    category=Category.REPAIR,
    late_by_seconds=600.0,
)


def test_a_breach_reaches_the_centers_wallboard_and_its_divisions_only() -> None:
    breach = _event(BREACH)
    assert "wallboard" in concerns(breach, _board("center_supervisor"), None)
    assert "wallboard" in concerns(breach, _board("division_supervisor", "D-EAST"), None)
    assert "wallboard" not in concerns(breach, _board("division_supervisor", "D-WEST"), None)
    assert "wallboard" not in concerns(breach, _board("center_supervisor", wallboard=False), None)  # not a board page
    assert "wallboard" not in concerns(breach, _board("agent"), None)
    assert "wallboard" not in concerns(_event(BREACH, branch="default"), _board("center_supervisor"), None)
    accepted = _event(TicketAccepted(unit_id="U-QINGXIU", handler_id="h"))
    assert "wallboard" not in concerns(accepted, _board("center_supervisor"), None)  # changes no figure of the board


def test_the_push_says_what_breached_where() -> None:
    pushed = reporting.wallboard_push("SlaBreached", "T-1", BREACH)
    assert pushed == {
        "ticket_id": "T-1",
        "clock": "contact",
        "unit_id": "U-QINGXIU",
        "to_level": None,
        "late_minutes": 10,
        "breach": True,
        "escalation": False,
    }


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({}, {}),
        ({"group_by": "colour"}, {"group_by": "unknown"}),
        ({"period": "year"}, {"period": "unknown"}),
        ({"since": "2026-13-01"}, {"since": "date"}),
        ({"since": "2026-03-09", "until": "2026-03-01"}, {"until": "before"}),
    ],
)
def test_the_figure_filter_says_which_input_is_wrong(params: dict[str, str], errors: dict[str, str]) -> None:
    chosen = reporting.FigureFilter.parse(params, date(2026, 3, 9))
    assert chosen.errors == errors
    if not errors:
        assert chosen.params("demo") == {
            "branch": "demo",
            "group_by": "unit",
            "period": "all",
            "since": "2026-03-01",
            "until": "2026-03-09",
        }


def test_the_services_field_errors_land_beside_the_publish_forms_inputs() -> None:
    failure = ApiFailure(422, "invalid", {"body.period_start": "a month starts on its 1st", "body.extra": "?"})
    assert reporting.field_errors(failure) == {"period_start": "a month starts on its 1st", "form": "?"}
    assert reporting.field_errors(ApiFailure(403, "only the center publishes")) == {"form": "only the center publishes"}
    assert reporting.publish_body({"period": "month", "period_start": "2026-02-01"}, "demo") == {
        "branch": "demo",
        "period": "month",
        "period_start": "2026-02-01",
        "scope": "branch",
    }
    division = reporting.publish_body({"period": "week", "scope": "division", "division_id": "D-EAST"}, "demo")
    assert division["division_id"] == "D-EAST"


def test_units_at_risk_lead_with_breaches_then_clocks_due() -> None:
    units = [{"key": "U-A", "breaches": 0}, {"key": "U-B", "breaches": 2}, {"key": "U-C", "breaches": 1}]
    due = [{"unit_id": "U-A"}, {"unit_id": "U-A"}, {"unit_id": "U-C"}, {"unit_id": None}]
    assert reporting.units_at_risk(units, due) == [
        {"unit": "U-B", "breaches": 2, "due": 0},
        {"unit": "U-C", "breaches": 1, "due": 1},
        {"unit": "U-A", "breaches": 0, "due": 2},
        {"unit": "(center queue)", "breaches": 0, "due": 1},
    ]
    gauges = reporting.on_time_gauges({"on_time": {"contact": {"met": 3, "breached": 1, "running": 2, "rate": 0.75}}})
    assert [g["rate"] for g in gauges] == [None, 75.0, None, None, None]  # dispatch, contact, handle, resolve, callback


def test_the_desk_asks_the_branchs_questions_for_the_category_and_reads_the_answers() -> None:
    policies = BranchPolicies()
    assert [q.id for q in reporting.survey_questions(policies, "demo", "repair")] == ["attitude", "on_time_visit"]
    assert [q.id for q in reporting.survey_questions(policies, "demo", "alarm")] == ["attitude"]
    assert reporting.survey_questions(policies, "default", "repair") == ()
    assert reporting.survey_questions(policies, "nowhere", "repair") == ()
    form = {"answer_attitude": "4", "answer_on_time_visit": "", "answer_typo": "x", "comment": "ok"}
    assert reporting.survey_answers(form) == {"attitude": 4, "typo": -1}  # a wrong value goes on to be refused


def _render(template: str, code: str, **context: object) -> str:
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from services.console import templating
    from services.console.i18n import Language, load_catalogs

    folder = Path(reporting.__file__).resolve().parents[1] / "templates"
    env = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["html"]))
    templating.install(env)
    catalogs = load_catalogs()
    lang = Language(code, catalogs.get(code, catalogs["en"]), ZoneInfo("Asia/Shanghai"))
    user = {"role": "center_supervisor", "username": "center.zhou", "extension": None}
    return env.get_template(template).render(
        _=lang.gettext, lang=lang, user=user, csrf="x", now=NOW, clock_speed=1, path="/", **context
    )


@pytest.mark.parametrize("code", ["zh_CN", "en"])
def test_the_wallboard_page_carries_its_labels_for_the_script(code: str) -> None:
    from html.parser import HTMLParser

    html = _render("reporting/wallboard.html", code, clocks=reporting.CLOCKS)
    found: dict[str, str | None] = {}

    class Board(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if dict(attrs).get("id") == "wallboard":
                found.update(attrs)

    Board().feed(html)
    live = "实时" if code == "zh_CN" else "live"
    assert found["data-label-live"] == live and found["data-label-breach"] and found["data-data-url"]
    assert "<h1" not in "".join(found)  # the tag is closed before the heading


class _Services:
    """What the wallboard asks of reporting, the SLA monitor and intake, as those services answer it."""

    def __init__(self, intake_answers: bool) -> None:
        self.intake_answers = intake_answers
        self.asked: list[tuple[str, str, dict[str, object]]] = []

    async def call(self, service: str, method: str, path: str, token: str, **kw: object) -> object:
        params = dict(kw.get("params") or {})  # type: ignore[call-overload]
        self.asked.append((service, path, params))
        if service == "intake":
            if not self.intake_answers:
                raise ApiFailure(503, "intake is not answering")
            return {"answered": 40, "abandoned": 3, "ringing": 2, "in_progress": 5}
        if service == "sla":
            return {"timers": []}
        if params.get("group_by") == "channel":
            return {"rows": [{"key": "phone", "received": 30}, {"key": "12345", "received": 9}]}
        return {"rows": [{"key": "demo", "received": 39, "open": 12}]}


async def test_the_wallboard_counts_calls_from_intakes_call_records_and_says_when_it_cannot() -> None:
    from zoneinfo import ZoneInfo

    now = datetime(2026, 3, 9, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    services = _Services(intake_answers=True)
    board = await reporting.wallboard(services, "t", "demo", now.date(), now)  # type: ignore[arg-type]
    assert board["calls_now"] == 7  # 2 ringing + 5 being talked
    assert board["calls_today"] == 45  # every call offered today, a ticket or not
    asked = [p for s, path, p in services.asked if s == "intake"]
    assert asked == [{"since": "2026-03-09T00:00:00+08:00"}]  # the branch's midnight, not UTC's
    silent = await reporting.wallboard(_Services(intake_answers=False), "t", "demo", now.date(), now)  # type: ignore[arg-type]
    assert silent["calls_now"] is None  # shown as "–", never 0
    assert silent["calls_today"] == 30  # tickets taken by phone, as before


def test_the_assessment_defaults_to_last_month_and_says_which_input_is_wrong() -> None:
    today = date(2026, 3, 9)
    chosen = reporting.AssessmentFilter.parse({}, today)
    assert chosen.params("demo") == {"branch": "demo", "level": "unit", "period": "month", "period_start": "2026-02-01"}
    week = reporting.AssessmentFilter.parse({"period": "week"}, today)
    assert week.period_start == "2026-03-02" and not week.errors  # the Monday of the last finished week
    wrong = reporting.AssessmentFilter.parse({"level": "team", "period_start": "March"}, today)
    assert wrong.errors == {"level": "unknown", "period_start": "date"}
    refusal = ApiFailure(422, "invalid", {"query.period_start": "a month starts on its first day"})
    assert reporting.assessment_errors(refusal) == {"period_start": "a month starts on its first day"}


@pytest.mark.parametrize("code", ["zh_CN", "en"])
def test_the_assessment_page_shows_why_a_unit_scored_what_it_did(code: str) -> None:
    components = [
        {"component": "on_time", "figure": 0.96, "score": 0.96, "weight": 40.0, "points": 38.4},
        {"component": "satisfaction", "figure": 4.6, "score": 0.9, "weight": 25.0, "points": 22.5},
        {"component": "complaints", "figure": 1.2, "score": 0.88, "weight": 15.0, "points": 13.2},
        {"component": "returns", "figure": 0.05, "score": 0.95, "weight": 10.0, "points": 9.5},
        {"component": "reopenings", "figure": None, "score": None, "weight": 10.0, "points": 0.0},
    ]
    html = _render(
        "reporting/assessment.html",
        code,
        f=reporting.AssessmentFilter.parse({}, date(2026, 3, 9)),
        rows=[{"key": "U-QINGXIU", "total": 83.6, "components": components}],
        levels=reporting.ASSESSMENT_LEVELS,
        periods=reporting.ASSESSMENT_PERIODS,
        figure=reporting.component_figure,
    )
    assert "U-QINGXIU" in html and "83.6" in html
    assert "96.0 %" in html and "4.60 / 5" in html and "1.2 / 100" in html and "38.4" in html
    assert ("考核" if code == "zh_CN" else "Assessment") in html
    assert 'for="period_start"' in html and 'for="level"' in html and 'for="period"' in html  # every input labelled
