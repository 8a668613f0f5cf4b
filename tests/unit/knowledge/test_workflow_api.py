"""Articles through the HTTP API on SQLite: draft -> submit -> review -> publish, versions, scope and 409s."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from services.knowledge.bootstrap import KnowledgeService
from services.knowledge.store import Outbox
from shared.events import decode
from tests.unit.knowledge.conftest import (
    AGENT,
    CENTER,
    DIVISION,
    OTHER_BRANCH_AGENT,
    OTHER_DIVISION,
    SISTER_UNIT,
    UNIT,
    article,
    publish,
)

pytestmark = pytest.mark.unit


async def events_of(service: KnowledgeService, article_id: str) -> list[str]:
    async with service.sessions() as session:
        rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
    found = [decode(r.value) for r in rows]
    assert all(r.key == article_id.encode() for r, e in zip(rows, found, strict=True) if e.article_id == article_id)
    return [e.type for e in found if e.article_id == article_id]


async def test_a_unit_drafts_the_division_reviews_the_center_publishes(
    client: httpx.AsyncClient, service: KnowledgeService
) -> None:
    created = await client.post("/api/v1/articles", json=article(), headers=UNIT)
    assert created.status_code == 201, created.text
    body = created.json()
    article_id = body["article_id"]
    assert body["status"] == "draft" and body["owner_unit"] == "U-1" and body["owner_division"] == "D-1"
    assert body["allowed_actions"] == ["edit", "submit"]
    assert "<strong>电池</strong>" in body["current"]["body_html"]

    # an agent does not see a draft at all
    assert (await client.get(f"/api/v1/articles/{article_id}", headers=AGENT)).status_code == 404

    submitted = await client.post(f"/api/v1/articles/{article_id}/submit", json={}, headers=UNIT)
    assert submitted.json()["status"] == "submitted"
    queue = (await client.get("/api/v1/review-queue", headers=DIVISION)).json()
    assert [a["article_id"] for a in queue] == [article_id]
    assert (await client.get("/api/v1/review-queue", headers=OTHER_DIVISION)).json() == []

    back = await client.post(
        f"/api/v1/articles/{article_id}/send-back", json={"notes": "补充一氧化碳安全提示"}, headers=DIVISION
    )
    assert back.json()["status"] == "draft"
    assert back.json()["notes"][-1]["notes"] == "补充一氧化碳安全提示"

    edited = await client.put(
        f"/api/v1/articles/{article_id}/draft", json=article(body="先检查表前阀。注意一氧化碳。"), headers=UNIT
    )
    assert edited.status_code == 200 and edited.json()["current"]["body"] == "先检查表前阀。注意一氧化碳。"
    for path, who, status in (("submit", UNIT, "submitted"), ("approve", DIVISION, "approved")):
        answer = await client.post(f"/api/v1/articles/{article_id}/{path}", json={}, headers=who)
        assert answer.json()["status"] == status, answer.text
    assert [a["article_id"] for a in (await client.get("/api/v1/review-queue", headers=CENTER)).json()] == [article_id]
    published = await client.post(f"/api/v1/articles/{article_id}/publish", json={}, headers=CENTER)
    assert published.json()["status"] == "published" and published.json()["live_version"] == 1

    seen = await client.get(f"/api/v1/articles/{article_id}", headers=AGENT)
    assert seen.status_code == 200 and seen.json()["allowed_actions"] == [] and seen.json()["notes"] == []
    assert await events_of(service, article_id) == [
        "ArticleDrafted",
        "ArticleSubmitted",
        "ArticleSentBack",
        "ArticleDraftEdited",
        "ArticleSubmitted",
        "ArticleApproved",
        "ArticlePublished",
    ]


async def test_a_new_version_goes_the_same_way_while_the_old_stays_live(
    client: httpx.AsyncClient, service: KnowledgeService
) -> None:
    article_id = await publish(client)
    started = await client.post(f"/api/v1/articles/{article_id}/new-version", json={}, headers=UNIT)
    assert started.status_code == 200, started.text
    assert started.json()["working_version"] == 2 and started.json()["live_version"] == 1
    await client.put(
        f"/api/v1/articles/{article_id}/draft", json=article(title="燃气表不走字或走得慢怎么办"), headers=UNIT
    )
    # agents still read version 1 and find it
    hits = (await client.get("/api/v1/search", params={"q": "燃气表不走字"}, headers=AGENT)).json()["hits"]
    assert [(h["article_id"], h["version"], h["title"]) for h in hits] == [(article_id, 1, "燃气表不走字怎么办")]
    again = await client.post(f"/api/v1/articles/{article_id}/new-version", json={}, headers=UNIT)
    assert again.status_code == 409 and "already in the works" in again.json()["error"]["message"]

    for path, who in (("submit", UNIT), ("approve", DIVISION), ("publish", CENTER)):
        assert (await client.post(f"/api/v1/articles/{article_id}/{path}", json={}, headers=who)).status_code == 200
    hits = (await client.get("/api/v1/search", params={"q": "燃气表不走字"}, headers=AGENT)).json()["hits"]
    assert [(h["version"], h["title"]) for h in hits] == [(2, "燃气表不走字或走得慢怎么办")]
    versions = (await client.get(f"/api/v1/articles/{article_id}/versions", headers=AGENT)).json()
    assert [(v["version"], v["status"]) for v in versions] == [(1, "superseded"), (2, "published")]
    diff = (await client.get(f"/api/v1/articles/{article_id}/diff?from=1&to=2", headers=AGENT)).json()
    assert diff["changed_fields"] == ["title"]
    assert "-# 燃气表不走字怎么办" in diff["unified"] and "+# 燃气表不走字或走得慢怎么办" in diff["unified"]


async def test_illegal_transitions_answer_409_with_the_status_and_the_allowed_actions(
    client: httpx.AsyncClient,
) -> None:
    article_id = (await client.post("/api/v1/articles", json=article(), headers=UNIT)).json()["article_id"]
    answer = await client.post(f"/api/v1/articles/{article_id}/approve", json={}, headers=DIVISION)
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "illegal_transition"
    assert {"field": "status", "message": "draft"} in error["fields"]
    assert {"field": "allowed_actions", "message": "edit, submit"} in error["fields"]
    await client.post(f"/api/v1/articles/{article_id}/submit", json={}, headers=UNIT)
    publish_early = await client.post(f"/api/v1/articles/{article_id}/publish", json={}, headers=CENTER)
    assert publish_early.status_code == 409 and "status submitted" in publish_early.json()["error"]["message"]
    edit_late = await client.put(f"/api/v1/articles/{article_id}/draft", json=article(), headers=UNIT)
    assert edit_late.status_code == 409


async def test_scope_a_unit_edits_only_its_drafts_a_division_reviews_only_its_units(
    client: httpx.AsyncClient,
) -> None:
    article_id = (await client.post("/api/v1/articles", json=article(), headers=UNIT)).json()["article_id"]
    # a sister unit of the same division cannot even see the draft
    assert (
        await client.put(f"/api/v1/articles/{article_id}/draft", json=article(), headers=SISTER_UNIT)
    ).status_code == 404
    await client.post(f"/api/v1/articles/{article_id}/submit", json={}, headers=UNIT)
    assert (
        await client.post(f"/api/v1/articles/{article_id}/approve", json={}, headers=OTHER_DIVISION)
    ).status_code == 404
    # the center cannot approve for the division, nor a unit for itself
    assert (await client.post(f"/api/v1/articles/{article_id}/approve", json={}, headers=CENTER)).status_code == 403
    assert (await client.post(f"/api/v1/articles/{article_id}/approve", json={}, headers=UNIT)).status_code == 403
    # agents and the center never draft
    assert (await client.post("/api/v1/articles", json=article(), headers=AGENT)).status_code == 403
    assert (await client.post("/api/v1/articles", json=article(), headers=CENTER)).status_code == 403


async def test_a_published_article_is_read_only_to_other_units_and_group_wide_ones_reach_other_branches(
    client: httpx.AsyncClient,
) -> None:
    local = await publish(client)
    wide = await publish(
        client, title="燃气泄漏时的安全须知", category="alarm", group_wide=True, body="立即关闭总阀，开窗通风。"
    )
    assert (await client.get(f"/api/v1/articles/{local}", headers=SISTER_UNIT)).status_code == 200
    assert (await client.post(f"/api/v1/articles/{local}/new-version", json={}, headers=SISTER_UNIT)).status_code == 403
    assert (await client.get(f"/api/v1/articles/{local}", headers=OTHER_BRANCH_AGENT)).status_code == 404
    assert (await client.get(f"/api/v1/articles/{wide}", headers=OTHER_BRANCH_AGENT)).status_code == 200
    hits = (await client.get("/api/v1/search", params={"q": "燃气泄漏"}, headers=OTHER_BRANCH_AGENT)).json()["hits"]
    assert [h["article_id"] for h in hits] == [wide]


async def test_retire_needs_a_reason_and_takes_the_article_out_of_search(
    client: httpx.AsyncClient, service: KnowledgeService
) -> None:
    article_id = await publish(client)
    no_reason = await client.post(f"/api/v1/articles/{article_id}/retire", json={"reason": ""}, headers=CENTER)
    assert no_reason.status_code == 422 and no_reason.json()["error"]["fields"][0]["field"] == "body.reason"
    retired = await client.post(f"/api/v1/articles/{article_id}/retire", json={"reason": "已换新表型"}, headers=CENTER)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert retired.json()["retired_reason"] == "已换新表型"
    hits = (await client.get("/api/v1/search", params={"q": "燃气表不走字"}, headers=AGENT)).json()["hits"]
    assert hits == []
    again = await client.post(f"/api/v1/articles/{article_id}/new-version", json={}, headers=UNIT)
    assert again.status_code == 409 and "retired" in again.json()["error"]["message"]
    assert (await events_of(service, article_id))[-1] == "ArticleRetired"


async def test_bad_input_is_a_422_naming_the_field_and_html_is_never_rendered(client: httpx.AsyncClient) -> None:
    bad = await client.post(
        "/api/v1/articles", json=article(category="repair", subtype="installation", title="x"), headers=UNIT
    )
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["error"]["fields"]} >= {"body.title"}
    unsafe = await client.post(
        "/api/v1/articles",
        json=article(body="<script>alert(1)</script>\n\n[点我](javascript:alert(1)) <img src=x onerror=alert(1)>"),
        headers=UNIT,
    )
    html = unsafe.json()["current"]["body_html"]
    assert "<script" not in html and 'href="javascript' not in html and "<img" not in html
    assert "&lt;script&gt;" in html  # shown as text, never run


async def test_stale_articles_are_listed_for_their_owners_and_flagged_in_search(
    client: httpx.AsyncClient, clock: object
) -> None:
    fresh = await publish(client, review_by="2027-06-30")
    stale = await publish(client, title="燃气表读数怎么看", body="燃气表读数看黑色数字。", review_by="2026-11-26")
    listed = (await client.get("/api/v1/articles/stale", headers=UNIT)).json()
    assert [a["article_id"] for a in listed] == [stale]
    assert (await client.get("/api/v1/articles/stale", headers=SISTER_UNIT)).json() == []
    hits = {
        h["article_id"]: h
        for h in (await client.get("/api/v1/search", params={"q": "燃气表"}, headers=AGENT)).json()["hits"]
    }
    assert hits[stale]["stale"] is True and hits[fresh]["stale"] is False


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def test_files_attach_to_the_draft_and_agents_download_them_once_published(client: httpx.AsyncClient) -> None:
    import base64

    article_id = (await client.post("/api/v1/articles", json=article(), headers=UNIT)).json()["article_id"]
    upload = {
        "filename": "换电池示意图.pdf",
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(PDF).decode(),
    }
    added = await client.post(f"/api/v1/articles/{article_id}/files", json=upload, headers=UNIT)
    assert added.status_code == 201, added.text
    attachment_id = added.json()["attachment_id"]
    fake = {**upload, "media_type": "image/png"}  # the declared type must match the content
    refused = await client.post(f"/api/v1/articles/{article_id}/files", json=fake, headers=UNIT)
    assert refused.status_code == 422 and refused.json()["error"]["fields"][0]["field"] == "body.content_base64"
    # agents cannot fetch a draft's file; after publication they can, and a new version keeps it
    assert (await client.get(f"/api/v1/articles/{article_id}/files/{attachment_id}", headers=AGENT)).status_code == 404
    for path, who in (("submit", UNIT), ("approve", DIVISION), ("publish", CENTER)):
        await client.post(f"/api/v1/articles/{article_id}/{path}", json={}, headers=who)
    got = await client.get(f"/api/v1/articles/{article_id}/files/{attachment_id}", headers=AGENT)
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    late = await client.post(f"/api/v1/articles/{article_id}/files", json=upload, headers=UNIT)
    assert late.status_code == 409  # the published version is not edited in place
    started = await client.post(f"/api/v1/articles/{article_id}/new-version", json={}, headers=UNIT)
    assert [f["filename"] for f in started.json()["current"]["files"]] == ["换电池示意图.pdf"]


async def test_agents_list_the_live_version_while_a_new_one_is_written(client: httpx.AsyncClient) -> None:
    article_id = await publish(client)
    await client.post(f"/api/v1/articles/{article_id}/new-version", json={}, headers=UNIT)
    listed = (await client.get("/api/v1/articles", headers=AGENT)).json()
    assert [(a["article_id"], a["version"], a["status"]) for a in listed] == [(article_id, 1, "published")]
    mine = (await client.get("/api/v1/articles", params={"mine": "true"}, headers=UNIT)).json()
    assert [(a["version"], a["status"]) for a in mine] == [(2, "draft")]


async def test_a_credential_of_an_unconfigured_branch_is_404_unknown_branch(client: httpx.AsyncClient) -> None:
    from shared.auth import Role
    from tests.unit.knowledge.conftest import token

    answer = await client.get(
        "/api/v1/search", params={"q": "燃气表"}, headers=token(Role.AGENT, "a", branch="nowhere")
    )
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_branch"
