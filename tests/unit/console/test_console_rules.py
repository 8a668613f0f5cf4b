"""The console's pure parts: language choice, catalogs, who hears an event, form fields per category."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.console import templating
from services.console.i18n import Language, choose_locale, load_catalogs
from services.console.live import Hub, Listener, concerns
from services.console.schemas import WorkOrderForm, form_field
from shared.events import CallOffered, SlaWarning, TicketAccepted, UrgentNoticeRequested, new_event

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
CONSOLE = Path(__file__).resolve().parents[3] / "services" / "console"


@pytest.mark.parametrize(
    ("chosen", "accept", "expected"),
    [
        (None, None, "zh_CN"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "en-GB", "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        (None, "fr-FR,de;q=0.5", "zh_CN"),
        ("en", "zh-CN", "en"),
        ("zh_CN", "en-US", "zh_CN"),
        ("xx", "en", "en"),
    ],
)
def test_the_users_choice_wins_then_accept_language_then_chinese(
    chosen: str | None, accept: str | None, expected: str
) -> None:
    assert choose_locale(chosen, accept) == expected


def _msgids() -> set[str]:
    ids: set[str] = set()
    for path in CONSOLE.rglob("*"):
        if path.suffix not in (".html", ".py"):
            continue
        text = path.read_text()
        ids |= {m.group(2) for m in re.finditer(r"""_\(\s*(["'])((?:(?!\1).)+?)\1\s*\)""", text)}
        ids |= set(re.findall(r'gettext\(\s*"([^"]+)"\s*\)', text))
    for table in (
        templating.EVENT_LABELS,
        templating.CATEGORY_LABELS,
        templating.CLOCK_LABELS,
        templating.STATUS_LABELS,
        templating.OUTCOME_LABELS,
        templating.SUBTYPE_LABELS,
        templating.LEVEL_LABELS,
    ):
        ids |= set(table.values())
    return ids


def test_every_message_of_the_pages_has_a_chinese_translation() -> None:
    chinese = load_catalogs()["zh_CN"]
    untranslated = sorted(m for m in _msgids() if chinese.gettext(m) == m)
    assert untranslated == []


def test_dates_show_the_branch_zone_with_its_offset_in_each_language() -> None:
    catalogs = load_catalogs()
    zone = ZoneInfo("Asia/Shanghai")
    instant = datetime(2026, 3, 9, 1, 5, tzinfo=UTC)
    english = Language("en", catalogs["en"], zone).when(instant)
    assert "Mar 9, 2026" in english and "9:05" in english and english.endswith("+08:00")
    chinese = Language("zh_CN", catalogs["zh_CN"], zone).when(instant)
    assert "2026年3月9日" in chinese and chinese.endswith("+08:00")


def _listener(**kw: object) -> Listener:
    base: dict[str, object] = {"subject": "agent.li", "role": "agent", "branch": "demo", "locale": "en"}
    base.update(kw)
    return Listener(**base)  # type: ignore[arg-type]


def _call(extension: str | None, branch: str = "demo") -> object:
    payload = CallOffered(caller_number="13800001001", dialled_number="95007", extension=extension)
    call = f"call-{uuid.uuid4().hex[:8]}"
    return new_event(payload, branch=branch, producer="cti", call_id=call, correlation_id=call, occurred_at=NOW)


def test_a_call_pops_only_at_the_agents_extension_of_the_branch() -> None:
    assert concerns(_call("8001"), _listener(extension="8001"), None) == ["call"]  # type: ignore[arg-type]
    assert concerns(_call("8002"), _listener(extension="8001"), None) == []  # type: ignore[arg-type]
    assert concerns(_call("8001"), _listener(extension=None), None) == []  # type: ignore[arg-type]
    assert concerns(_call("8001", branch="default"), _listener(extension="8001"), None) == []  # type: ignore[arg-type]


def _ticket_event(payload: object, ticket: str = "T-1") -> object:
    return new_event(  # type: ignore[type-var]
        payload, branch="demo", producer="dispatch", ticket_id=ticket, correlation_id=ticket, occurred_at=NOW
    )


def test_a_tickets_events_reach_the_pages_showing_it_and_sla_notices_its_owner() -> None:
    accepted = _ticket_event(TicketAccepted(unit_id="U-QINGXIU", handler_id="h1"))
    assert concerns(accepted, _listener(watching=frozenset({"T-1"})), None) == ["ticket"]  # type: ignore[arg-type]
    assert concerns(accepted, _listener(), None) == []  # type: ignore[arg-type]
    now = datetime.now(UTC)
    warning = _ticket_event(
        SlaWarning(clock="resolve", started_at=now, deadline=now + timedelta(hours=1), elapsed_share=0.8)
    )
    assert concerns(warning, _listener(), "agent.li") == ["notice"]  # type: ignore[arg-type]
    assert concerns(warning, _listener(), "agent.wang") == []  # type: ignore[arg-type]


def test_urgent_notices_reach_every_agent_of_the_branch_not_unit_handlers() -> None:
    notice = _ticket_event(
        UrgentNoticeRequested(
            reason="alarm",
            recipients=[{"org_level": "unit", "org_id": "U-QINGXIU"}],
            category="alarm",
            message="gas smell",
        )
    )
    assert concerns(notice, _listener(), None) == ["notice"]  # type: ignore[arg-type]
    assert concerns(notice, _listener(role="unit_handler"), None) == []  # type: ignore[arg-type]


def test_the_hub_queues_one_push_per_concerned_stream() -> None:
    hub = Hub(lambda kind, event, listener: {"kind": kind})
    mine, other = _listener(extension="8001"), _listener(extension="8009")
    hub.add(mine)
    hub.add(other)
    event = _call("8001")
    assert hub.publish(event) == 1  # type: ignore[arg-type]
    assert mine.queue.qsize() == 1 and other.queue.qsize() == 0
    assert hub.call(event.call_id)["caller_number"] == "13800001001"  # type: ignore[attr-defined,index]


def test_intakes_field_paths_land_beside_the_forms_inputs() -> None:
    assert form_field("body.customer.phone") == "phone"
    assert form_field("body.phone") == "phone"  # the alarm endpoint's flat body
    assert form_field("body.customer.address") == "address"
    assert form_field("body.requests.1.subtype") == "requests.1.subtype"
    assert form_field("body.something_new") == "form"


@pytest.mark.parametrize(
    ("category", "declined", "required"),
    [
        ("alarm", False, {"category", "description", "customer_name", "phone", "address"}),
        ("repair", False, {"category", "description", "phone", "address"}),
        ("service_request", False, {"category", "description", "phone", "address", "subtype"}),
        ("complaint", False, {"category", "description", "phone", "complaint_place", "complaint_type"}),
        ("query", False, {"category", "answer"}),
        ("consultation", False, {"category", "description", "phone"}),
        ("consultation", True, {"category", "description"}),
        ("praise", False, {"category", "description"}),
    ],
)
def test_the_form_marks_what_each_category_requires(category: str, declined: bool, required: set[str]) -> None:
    form = WorkOrderForm(category=category, callback_mode="declined" if declined else "required")
    assert form.required() == required
