"""The console's knowledge pages, their pure parts: the article form, where the API's messages go, 409s, diffs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.datastructures import FormData

from services.console.clients import ApiFailure
from services.console.handlers import knowledge
from services.console.handlers.knowledge import ArticleForm, diff_lines, field_errors, input_of, refused
from services.console.handlers.work_orders import ticket_body
from services.console.i18n import load_catalogs
from services.console.schemas import WorkOrderForm
from shared.markdown import render_markdown

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "console" / "templates" / "knowledge"


def test_the_form_becomes_the_apis_body_tags_split_on_either_comma_links_one_a_line() -> None:
    form = ArticleForm.from_form(
        FormData(
            [
                ("title", " 燃气表不走字怎么办 "),
                ("body", "## 先自查\n"),
                ("category", "consultation"),
                ("tags", "燃气表，抄表, 不走字"),
                ("attachments", "报修单 | https://example.org/form.pdf\n\n价格公告|https://example.org/p"),
                ("review_by", ""),
                ("group_wide", "on"),
            ]
        )
    )
    body = form.create_body()
    assert body["title"] == "燃气表不走字怎么办"
    assert body["body"] == "## 先自查\n"  # the Markdown as typed, its whitespace is meaning
    assert body["tags"] == ["燃气表", "抄表", "不走字"]
    assert body["attachments"] == [
        {"name": "报修单", "url": "https://example.org/form.pdf"},
        {"name": "价格公告", "url": "https://example.org/p"},
    ]
    assert body["review_by"] is None and body["subtype"] is None and body["group_wide"] is True
    assert "owner_unit" not in body
    # and back: a version as the service has it fills the form to edit it
    again = ArticleForm.of_version({**body, "review_by": "2027-01-31"})
    assert again.tag_list() == ["燃气表", "抄表", "不走字"] and again.review_by == "2027-01-31"
    assert again.attachment_list() == body["attachments"]


@pytest.mark.parametrize(
    ("path", "message", "expected"),
    [
        ("body.title", "String should have at least 2 characters", "title"),
        ("body.tags.1", "String should match pattern", "tags"),
        ("body.attachments.0.url", "Input should be a valid URL", "attachments"),
        ("body.review_by", "Input should be a valid date", "review_by"),
        ("body.body", "Field required", "body"),
        ("body", "Value error, sub-type installation does not belong to category repair", "subtype"),
        ("body.notes", "write what the writers must change", "notes"),
        ("body.reason", "write why the article is retired", "reason"),
        ("body.content_base64", "the content is not a PDF", "file"),
        ("body", "something else", "form"),
    ],
)
def test_each_message_of_the_knowledge_api_lands_beside_its_input(path: str, message: str, expected: str) -> None:
    assert input_of(path, message) == expected


def test_the_first_message_of_an_input_is_kept_and_a_bare_failure_says_its_message() -> None:
    failure = ApiFailure(422, "invalid", {"body.tags.0": "first", "body.tags.3": "second"})
    assert field_errors(failure) == {"tags": "first"}
    assert field_errors(ApiFailure(503, "knowledge is not answering")) == {"form": "knowledge is not answering"}


def test_a_409_tells_the_status_now_and_what_this_person_may_do_instead() -> None:
    failure = ApiFailure(
        409,
        "cannot approve a approved version (status approved; allowed: none)",
        {"status": "approved", "allowed_actions": "none"},
        "illegal_transition",
    )
    refusal = refused(failure)
    assert refusal.illegal and refusal.current_status == "approved" and refusal.allowed == ()
    other = refused(ApiFailure(409, "x", {"status": "published", "allowed_actions": "new_version, retire"}))
    assert other.allowed == ("new_version", "retire")
    assert not refused(ApiFailure(422, "bad", {"body.notes": "write"})).illegal


def test_the_diff_marks_each_line_as_added_removed_or_kept() -> None:
    unified = "--- v1\n+++ v2\n@@ -1,3 +1,4 @@\n # 阶梯气价\n-第一档 2.98 元\n+第一档 3.10 元\n+第二档 3.58 元"
    assert [kind for kind, _ in diff_lines(unified)] == ["head", "head", "hunk", "same", "del", "add", "add"]


def test_the_first_contact_resolution_carries_the_attached_article_to_intake() -> None:
    form = WorkOrderForm(
        category="consultation",
        description="燃气表不走字",
        resolve_on_call=True,
        answer="已指导用户打开表前阀门",
        knowledge_article_id="KB-0123456789",
    )
    assert ticket_body(form)["first_contact_resolution"] == {
        "answer": "已指导用户打开表前阀门",
        "knowledge_article_id": "KB-0123456789",
    }
    # not resolved on the call: nothing to attach it to
    form.resolve_on_call = False
    assert "first_contact_resolution" not in ticket_body(form)


def test_the_preview_renders_markdown_and_drops_html() -> None:
    html = render_markdown("## 先自查\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) **不要拆表**")
    assert "<h2>先自查</h2>" in html and "<strong>不要拆表</strong>" in html
    assert "<script" not in html and "&lt;script&gt;" in html  # shown as text, never run
    assert "href" not in html  # no javascript: link


def test_every_label_of_the_knowledge_pages_has_a_chinese_translation() -> None:
    chinese = load_catalogs()["zh_CN"]
    tables = (knowledge.STATUS_LABELS, knowledge.ACTION_LABELS, knowledge.FIELD_LABELS)
    ids = {label for table in tables for label in table.values()}
    for path in TEMPLATES.glob("*.html"):
        ids |= {m.group(2) for m in re.finditer(r"""_\(\s*(["'])((?:(?!\1).)+?)\1\s*\)""", path.read_text())}
    assert ids and sorted(m for m in ids if chinese.gettext(m) == m) == []
