"""Notice templates: every placeholder checked at load, per-category fallback, the quiet window (RULES.md §5)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.outbound.settings import PACKAGED_TEMPLATES
from services.outbound.templates import NoticeCatalog, load_notices
from shared.policy.callbacks import QuietWindow
from shared.policy.categories import Category
from shared.policy.notices import (
    NoticeKind,
    TemplateError,
    check_template,
    earliest_send,
    render,
    templates_from_mapping,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_packaged_templates_load_and_fall_back_to_default_per_category() -> None:
    notices = load_notices(PACKAGED_TEMPLATES / "default.toml")
    complaint = notices.templates.template(Category.COMPLAINT, NoticeKind.DISPATCHED)
    repair = notices.templates.template(Category.REPAIR, NoticeKind.DISPATCHED)
    assert complaint is not None and "投诉" in complaint
    assert repair is not None and repair == notices.templates.template(Category.SERVICE_REQUEST, NoticeKind.DISPATCHED)
    for kind in NoticeKind:
        assert notices.templates.template(Category.REPAIR, kind) is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("工单{ticket_number}，客户{customer_name}", "unknown placeholder {customer_name}"),
        ("工单{ticket_number", "(write a literal brace as {{ or }})"),
        ("  ", "the template is empty"),
    ],
)
def test_a_bad_template_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as raised:
        check_template("demo.toml: [repair] dispatched", text)
    assert message in str(raised.value) and "demo.toml: [repair] dispatched" in str(raised.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nonsense": {"dispatched": "x"}}, "[nonsense] is neither 'default' nor a category"),
        ({"repair": {"arrived": "x"}}, "arrived: unknown notice kind"),
        ({"repair": {"dispatched": 3}}, "the template must be text"),
        ({"repair": {"dispatched": "{phone}"}}, "unknown placeholder {phone}"),
    ],
)
def test_a_bad_templates_file_names_what_is_wrong(data: dict[str, object], message: str) -> None:
    with pytest.raises(TemplateError) as raised:
        templates_from_mapping("b.toml", data)
    assert message in str(raised.value)


def test_a_branch_file_with_an_unknown_placeholder_stops_loading(tmp_path: Path) -> None:
    (tmp_path / "notices").mkdir()
    (tmp_path / "notices" / "north.toml").write_text('hotline = "96877"\n[default]\nresolved = "{address}已修好"\n')
    catalog = NoticeCatalog(PACKAGED_TEMPLATES, {"HOTLINE_CONFIG_DIR": str(tmp_path)})
    with pytest.raises(TemplateError, match=r"unknown placeholder \{address\}"):
        catalog.for_branch("north")
    assert catalog.for_branch("default").hotline == "95007"  # the packaged file


def test_render_fills_the_ticket_facts() -> None:
    text = render(
        "{category}工单{ticket_number}，{appointment}，{hotline}",
        ticket_number="GX-1",
        category=Category.REPAIR,
        hotline="95007",
        appointment="12月02日 09:30",
    )
    assert text == "故障报修工单GX-1，12月02日 09:30，95007"


@pytest.mark.parametrize(
    ("local", "urgent", "expected"),
    [
        ((2026, 12, 1, 10, 0), False, (2026, 12, 1, 10, 0)),
        ((2026, 12, 1, 22, 30), False, (2026, 12, 2, 8, 0)),
        ((2026, 12, 2, 7, 59), False, (2026, 12, 2, 8, 0)),
        ((2026, 12, 1, 21, 0), False, (2026, 12, 2, 8, 0)),
        ((2026, 12, 1, 22, 30), True, (2026, 12, 1, 22, 30)),
    ],
)
def test_a_non_urgent_notice_waits_out_the_quiet_window(
    local: tuple[int, ...], urgent: bool, expected: tuple[int, ...]
) -> None:
    now = datetime(*local, tzinfo=SHANGHAI)
    assert earliest_send(now, SHANGHAI, QuietWindow(), urgent=urgent) == datetime(*expected, tzinfo=SHANGHAI)
