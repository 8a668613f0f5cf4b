"""Search as an agent on a call sees it (SQLite FTS5 backend), and the improvement loop: feedback and needs."""

from __future__ import annotations

import httpx
import pytest

from shared.auth import Role
from tests.unit.knowledge.conftest import AGENT, CENTER, DIVISION, UNIT, publish, token

pytestmark = pytest.mark.unit


async def hits(client: httpx.AsyncClient, q: str, **params: str) -> list[dict[str, object]]:
    answer = await client.get("/api/v1/search", params={"q": q, **params}, headers=AGENT)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["hits"])


async def test_the_question_finds_the_article_by_its_words(client: httpx.AsyncClient) -> None:
    meter = await publish(client, title="燃气表不走字怎么办", body="检查表前阀是否打开，更换表内电池。")
    await publish(client, title="燃气灶打不着火", body="检查灶具电池和灶前阀。", category="repair")
    found = await hits(client, "燃气表")
    assert found[0]["article_id"] == meter and found[0]["matched_by"] == "fulltext"
    assert (await hits(client, "用户反映家里燃气表不走字了怎么回事"))[0]["article_id"] == meter


async def test_branch_synonyms_find_燃气_when_the_caller_says_煤气(client: httpx.AsyncClient) -> None:
    meter = await publish(client, title="燃气表不走字怎么办", body="检查表前阀是否打开。")
    assert [h["article_id"] for h in await hits(client, "煤气表不走字")] == [meter]


async def test_typos_and_partial_words_fall_back_to_character_ngrams(client: httpx.AsyncClient) -> None:
    meter = await publish(client, title="燃气表不走字怎么办", body="检查表前阀是否打开。")
    answer = await client.get("/api/v1/search", params={"q": "燃汽表"}, headers=AGENT)
    body = answer.json()
    assert body["fuzzy_used"] is True
    assert [(h["article_id"], h["matched_by"]) for h in body["hits"]] == [(meter, "fuzzy")]


async def test_the_calls_category_and_freshness_rank_first(client: httpx.AsyncClient) -> None:
    repair = await publish(client, title="燃气表故障报修流程", body="燃气表故障请报修。", category="repair")
    consult = await publish(
        client, title="燃气表报修要收费吗", body="燃气表故障报修的收费标准。", category="consultation"
    )
    assert (await hits(client, "燃气表报修", category="repair"))[0]["article_id"] == repair
    assert (await hits(client, "燃气表报修", category="consultation"))[0]["article_id"] == consult


async def test_a_search_that_finds_nothing_is_a_knowledge_need_with_its_count(client: httpx.AsyncClient) -> None:
    await publish(client)
    for _ in range(3):
        answer = await client.get("/api/v1/search", params={"q": "光伏板补贴怎么申请"}, headers=AGENT)
        assert answer.json()["hits"] == [] and answer.json()["need_recorded"] is True
    unit_need = await client.post(
        "/api/v1/needs", json={"text": "壁挂炉冬季防冻", "note": "十二月来电多"}, headers=UNIT
    )
    assert unit_need.status_code == 201 and unit_need.json()["source"] == "unit"
    assert unit_need.json()["submitted_by_unit"] == "U-1"
    needs = (await client.get("/api/v1/improvement", headers=CENTER)).json()["needs"]
    assert [(n["text"], n["count"], n["source"]) for n in needs] == [
        ("光伏板补贴怎么申请", 3, "search"),
        ("壁挂炉冬季防冻", 1, "unit"),
    ]
    assert (await client.get("/api/v1/improvement", headers=AGENT)).status_code == 403


async def test_feedback_on_a_ticket_ranks_the_least_helpful_articles(client: httpx.AsyncClient) -> None:
    good = await publish(client, title="燃气表不走字怎么办")
    bad = await publish(client, title="阶梯气价怎么算", body="按年度用气量分档计价。", category="consultation")
    agents = [token(Role.AGENT, f"agent-{i}") for i in range(3)]
    for i, agent in enumerate(agents):
        for article_id, helpful in ((good, True), (bad, i == 0)):
            given = await client.post(
                f"/api/v1/articles/{article_id}/feedback",
                json={"ticket_id": f"GX-{i}", "helpful": helpful},
                headers=agent,
            )
            assert given.status_code == 201, given.text
    # the same agent on the same ticket changes its mind: one verdict, the latest
    await client.post(
        f"/api/v1/articles/{good}/feedback", json={"ticket_id": "GX-0", "helpful": False}, headers=agents[0]
    )
    await client.post(
        f"/api/v1/articles/{good}/feedback", json={"ticket_id": "GX-0", "helpful": True}, headers=agents[0]
    )
    worst = (await client.get("/api/v1/improvement", headers=DIVISION)).json()["least_helpful"]
    assert [(w["article_id"], w["helpful"], w["votes"]) for w in worst] == [(bad, 1, 3), (good, 3, 3)]
    refused = await client.post(
        f"/api/v1/articles/{good}/feedback", json={"ticket_id": "GX-1", "helpful": True}, headers=UNIT
    )
    assert refused.status_code == 403


async def test_metrics_count_searches_by_outcome_and_workflow_steps(client: httpx.AsyncClient) -> None:
    await publish(client)
    await hits(client, "燃气表")
    await hits(client, "燃汽表")
    await client.get("/api/v1/search", params={"q": "光伏板补贴"}, headers=AGENT)
    text = (await client.get("/metrics")).text
    for outcome in ("fulltext", "fuzzy", "empty"):
        assert f'hotline_knowledge_searches_total{{outcome="{outcome}"}} 1.0' in text
    assert 'hotline_knowledge_workflow_steps_total{action="publish"} 1.0' in text
