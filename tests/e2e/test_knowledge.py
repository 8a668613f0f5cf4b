"""Story: a unit writes an article, its division reviews it, the center publishes it, an agent finds it on a call
and closes the ticket on first contact with it, then says it helped (regulation §9(六), §11(三)(八), §15(一)2)."""

from __future__ import annotations

import pytest

from shared.auth import Role
from tests.e2e.harness import System
from tests.e2e.steps import QINGXIU, ticket_body


@pytest.mark.asyncio(loop_scope="session")
async def test_an_article_written_reviewed_and_published_resolves_a_call(system: System) -> None:
    _, unit, division = QINGXIU
    handler = system.client("knowledge", Role.UNIT_HANDLER, unit=unit, division=division)
    reviewer = system.client("knowledge", Role.DIVISION_SUPERVISOR, division=division)
    center = system.client("knowledge", Role.CENTER_SUPERVISOR)
    agent_id = "e2e-agent-knowledge"
    agent = system.client("knowledge", Role.AGENT, subject=agent_id)
    desk = system.client("intake", Role.AGENT, subject=agent_id)

    draft = await handler.post(
        "/api/v1/articles",
        json={
            "title": "燃气表不走字怎么办",
            "body": "1. 确认**表前阀**全开\n2. 更换表内电池\n\n仍不走字请报修。",
            "category": "repair",
            "tags": ["燃气表", "不走字"],
        },
    )
    assert draft.status_code == 201, draft.text
    article_id = draft.json()["article_id"]
    assert (await handler.post(f"/api/v1/articles/{article_id}/submit", json={})).status_code == 200
    assert (await reviewer.post(f"/api/v1/articles/{article_id}/approve", json={"notes": "可发布"})).status_code == 200
    published = await center.post(f"/api/v1/articles/{article_id}/publish", json={})
    assert published.status_code == 200 and published.json()["status"] == "published"

    # on the call: the caller's words find it
    found = await agent.get("/api/v1/search", params={"q": "用户说家里煤气表不走了", "category": "repair"})
    assert found.status_code == 200
    assert found.json()["hits"][0]["article_id"] == article_id

    answer = "请确认表前阀全开并更换表内电池，仍不走字可报修。"
    created = await desk.post(
        "/api/v1/tickets",
        json=ticket_body(
            "repair",
            description="燃气表不走字",
            first_contact_resolution={"answer": answer, "knowledge_article_id": article_id},
        ),
    )
    assert created.status_code in (200, 201), created.text
    ticket_id = created.json()["ticket_id"]
    resolved = await system.events.wait_for(ticket_id, "TicketResolvedOnFirstContact")
    assert resolved.payload.knowledge_article_id == article_id

    helpful = await agent.post(
        f"/api/v1/articles/{article_id}/feedback", json={"ticket_id": ticket_id, "helpful": True}
    )
    assert helpful.status_code == 201, helpful.text
    await system.events.wait_for(article_id, "ArticleFeedbackRecorded", lambda p: p.ticket_id == ticket_id)
    assert [e.type for e in system.events.of(article_id)] == [
        "ArticleDrafted",
        "ArticleSubmitted",
        "ArticleApproved",
        "ArticlePublished",
        "ArticleFeedbackRecorded",
    ]
