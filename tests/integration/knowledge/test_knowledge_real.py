"""Real PostgreSQL and Kafka: the workflow through HTTP, its events on the topic in order, search on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from services.knowledge.bootstrap import KnowledgeService
from services.knowledge.evaluation import load_faq, recall_at
from services.knowledge.handlers import Context
from shared.events import decode
from tests.unit.knowledge.conftest import AGENT, CENTER, DIVISION, OTHER_DIVISION, UNIT, article
from tests.unit.knowledge.test_search_quality import RECALL_AT_3_FLOOR


async def read_events(bootstrap: str, topic: str, at_least: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    got: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while len(got) < at_least:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    got.extend(batch)
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            got.extend(batch)
    finally:
        await consumer.stop()
    return got


async def test_the_workflow_through_http_lands_on_kafka_in_order_keyed_by_article(
    client: httpx.AsyncClient, kafka_bootstrap: str, topic: str
) -> None:
    created = await client.post("/api/v1/articles", json=article(), headers=UNIT)
    assert created.status_code == 201, created.text
    article_id = created.json()["article_id"]
    steps = [
        ("submit", UNIT, {}),
        ("send-back", DIVISION, {"notes": "补充电池型号"}),
        ("submit", UNIT, {}),
        ("approve", DIVISION, {}),
        ("publish", CENTER, {}),
        ("new-version", UNIT, {}),
    ]
    for path, who, body in steps:
        answer = await client.post(f"/api/v1/articles/{article_id}/{path}", json=body, headers=who)
        assert answer.status_code == 200, (path, answer.text)
    refused = await client.post(f"/api/v1/articles/{article_id}/approve", json={}, headers=OTHER_DIVISION)
    assert refused.status_code == 403  # the published version is visible to all, reviewable by its division only
    illegal = await client.post(f"/api/v1/articles/{article_id}/publish", json={}, headers=CENTER)
    assert illegal.status_code == 409 and "status draft" in illegal.json()["error"]["message"]

    messages = await read_events(kafka_bootstrap, topic, at_least=7)
    events = [decode(m.value) for m in messages]
    assert {m.key for m in messages} == {article_id.encode()}
    assert len({m.partition for m in messages}) == 1  # one article's history on one partition, in order
    assert [e.type for e in events] == [
        "ArticleDrafted",
        "ArticleSubmitted",
        "ArticleSentBack",
        "ArticleSubmitted",
        "ArticleApproved",
        "ArticlePublished",
        "ArticleDrafted",
    ]
    assert all(e.article_id == article_id and e.producer == "knowledge" for e in events)
    assert events[-1].payload.version == 2  # type: ignore[attr-defined]


async def test_search_on_postgresql_words_synonyms_typos_and_an_empty_search_as_a_need(
    client: httpx.AsyncClient, service: KnowledgeService
) -> None:
    for fields in (
        article(),
        article(title="燃气灶打不着火", body="检查灶前阀和灶具电池。", tags=["灶具"]),
    ):
        article_id = (await client.post("/api/v1/articles", json=fields, headers=UNIT)).json()["article_id"]
        for path, who in (("submit", UNIT), ("approve", DIVISION), ("publish", CENTER)):
            assert (await client.post(f"/api/v1/articles/{article_id}/{path}", json={}, headers=who)).status_code == 200

    async def top(q: str) -> tuple[str | None, str | None]:
        body = (await client.get("/api/v1/search", params={"q": q}, headers=AGENT)).json()
        return (body["hits"][0]["title"], body["hits"][0]["matched_by"]) if body["hits"] else (None, None)

    assert await top("燃气表不走字怎么办") == ("燃气表不走字怎么办", "fulltext")
    assert await top("燃气表") == ("燃气表不走字怎么办", "fulltext")
    assert await top("煤气表不走了") == ("燃气表不走字怎么办", "fulltext")
    assert await top("燃汽表") == ("燃气表不走字怎么办", "fuzzy")
    empty = (await client.get("/api/v1/search", params={"q": "光伏发电并网"}, headers=AGENT)).json()
    assert empty["hits"] == [] and empty["need_recorded"] is True
    needs = (await client.get("/api/v1/improvement", headers=CENTER)).json()["needs"]
    assert [(n["text"], n["count"]) for n in needs] == [("光伏发电并网", 1)]
    async with service.sessions() as session:
        # the words are in the GIN-indexed tsvector column, the title weighted A
        matched = await session.scalar(
            text("SELECT count(*) FROM search_documents WHERE tsv @@ to_tsquery('simple', '燃气表')")
        )
        weights = await session.scalar(text("SELECT tsv::text FROM search_documents WHERE title = '燃气灶打不着火'"))
    assert matched == 1 and "'打不着火':" in str(weights) and "A" in str(weights)


async def test_recall_at_3_on_postgresql(service: KnowledgeService) -> None:
    ctx = Context(clock=service.clock, settings=service.knowledge, search=service.search, zone_of=service.zone_of)
    assert await load_faq(service.sessions, "demo", ctx) == 200
    evaluation = await recall_at(service.sessions, "demo", ctx, k=3)
    assert evaluation.recall >= RECALL_AT_3_FLOOR, evaluation.misses
