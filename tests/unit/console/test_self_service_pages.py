"""The customers' self-service pages, their pure parts (issue 21): required inputs by the agents' rule, where
outbound's and intake's messages go, every label in Chinese; CustomerNotified's label in the ticket timeline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.console import templating
from services.console.clients import ApiFailure
from services.console.handlers import self_service as ss
from services.console.i18n import Language, load_catalogs

ROOT = Path(__file__).resolve().parents[3] / "services" / "console" / "templates"
TEMPLATES = ROOT / "selfservice"


@pytest.mark.parametrize(
    ("form", "missing"),
    [
        ({}, {"category"}),
        ({"category": "alarm"}, {"category"}),  # alarms are phoned in, never typed
        ({"category": "repair"}, {"address", "description"}),
        ({"category": "repair", "address": "民族大道100号", "description": "灶具打不着火"}, set()),
        ({"category": "service_request", "address": "x", "description": "y"}, {"subtype"}),
        ({"category": "service_request", "address": "x", "description": "y", "subtype": "teleport"}, {"subtype"}),
        ({"category": "complaint", "description": "y"}, {"place", "complaint_type"}),
        ({"category": "complaint", "description": "y", "place": "滨湖小区", "complaint_type": "billing"}, set()),
        ({"category": "suggestion"}, {"description"}),
    ],
)
def test_what_a_request_cannot_go_without(form: dict[str, str], missing: set[str]) -> None:
    assert set(ss.check_request(form)) == missing


def test_the_form_becomes_outbounds_body_with_only_what_its_category_uses() -> None:
    body = ss.request_body(
        {"category": "repair", "description": " 漏气 ", "address": "民族大道100号", "district": "青秀区", "place": "x"}
    )
    assert body == {"category": "repair", "description": "漏气", "address": "民族大道100号", "district": "青秀区"}
    complaint = ss.request_body(
        {"category": "complaint", "description": "d", "place": "滨湖", "complaint_type": "billing"}
    )
    assert complaint["place"] == "滨湖" and complaint["complaint_type"] == "billing"


@pytest.mark.parametrize(
    ("code", "fields", "expected", "facts"),
    [
        ("too_soon", {"phone": "wait 42 s for a new code"}, ss.CODE_MESSAGES["too_soon"], {"seconds": "42"}),
        ("code_wrong", {"code": "the code is not right: 3 tries left"}, ss.CODE_MESSAGES["code_wrong"], {"left": "3"}),
        ("code_locked", {"code": "too many"}, ss.CODE_MESSAGES["code_locked"], {}),
    ],
)
def test_outbounds_refusals_land_beside_the_input_with_their_numbers(
    code: str, fields: dict[str, str], expected: str, facts: dict[str, str]
) -> None:
    failure = ApiFailure(429, "x", fields, code)
    refusal = ss._refusal(failure, "code", ss.CODE_MESSAGES)
    assert refusal.errors == {"code": expected}
    assert ss._facts(failure) == facts


def test_a_signed_out_customer_is_sent_to_sign_in() -> None:
    assert ss._refusal(ApiFailure(401, "x", {}, "signed_out"), "number", {}).signed_out


def test_every_label_of_the_self_service_pages_has_a_chinese_translation() -> None:
    chinese = load_catalogs()["zh_CN"]
    tables = (
        ss.STEP_LABELS,
        ss.RATING_LABELS,
        ss.COMPLAINT_TYPES,
        ss.MISSING,
        ss.CODE_MESSAGES,
        ss.PHOTO_MESSAGES,
        ss.TOO_MANY,
    )
    ids = {label for table in tables for label in table.values()}
    for path in TEMPLATES.glob("*.html"):
        ids |= {m.group(2) for m in re.finditer(r"""_\(\s*(["'])((?:(?!\1).)+?)\1\s*\)""", path.read_text())}
    ids |= {templating.EVENT_LABELS["CustomerNotified"], *templating.NOTICE_KIND_LABELS.values()}
    assert ids and sorted(m for m in ids if chinese.gettext(m) == m) == []


@pytest.mark.parametrize(
    ("locale", "expected"), [("zh_CN", "已短信通知客户: 单位正在上门"), ("en", "Customer told by SMS: Unit on the way")]
)
def test_the_timeline_names_a_customer_notice_and_its_kind(locale: str, expected: str) -> None:
    env = Environment(loader=FileSystemLoader(ROOT), autoescape=select_autoescape(["html"]))
    templating.install(env)
    lang = Language(locale, load_catalogs()[locale], ZoneInfo("Asia/Shanghai"))
    html = env.get_template("_timeline_entry.html").render(
        _=lang.gettext,
        lang=lang,
        h={
            "event_id": "e1",
            "type": "CustomerNotified",
            "occurred_at": datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
            "producer": "outbound",
            "details": {"kind": "on_the_way"},
        },
    )
    assert f'<span class="ev">{expected}</span>' in html


def test_a_refused_photo_is_said_in_chinese_beside_the_field_with_its_name_and_size() -> None:
    chinese = load_catalogs()["zh_CN"]
    photos, refused = ss.check_uploads([("a.jpg", b"\xff\xd8\xff" + b"\0" * (6 * 1024 * 1024)), ("b.gif", b"GIF89a")])
    assert photos == []
    said = [chinese.gettext(message) % values for message, values in refused]
    assert said == ["a.jpg 大小为 6.0 MB，最大 5.0 MB", "b.gif 不是照片（请选 JPEG、PNG 或 WebP）"]
    _, too_many = ss.check_uploads([("x.png", b"")] * 4)
    assert [chinese.gettext(m) % v for m, v in too_many] == ["最多 3 张照片"]


def test_too_many_codes_from_one_device_says_the_wait_in_chinese() -> None:
    chinese = load_catalogs()["zh_CN"]
    failure = ApiFailure(429, "x", {"phone": "too many codes asked from here: wait 1200 s"}, "too_many_requests")
    assert ss._facts(failure) == {"seconds": "1200"}
    said = chinese.gettext(ss.TOO_MANY["phone"]).format(**ss._facts(failure))
    assert said == "本设备获取验证码次数过多，请 1200 秒后再试"


def test_a_photo_read_only_in_part_is_said_with_its_real_size() -> None:
    head = b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024)  # what the page reads of a 12 MB photo
    _, refused = ss.check_uploads([("big.jpg", head)], [12 * 1024 * 1024])
    assert refused == [
        ("%(name)s is %(size)s MB; at most %(limit)s MB", {"name": "big.jpg", "size": "12.0", "limit": "5.0"})
    ]
