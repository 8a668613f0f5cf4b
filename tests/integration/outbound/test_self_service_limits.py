"""Issue 21: one client cannot walk through many phones: codes asked and codes tried are limited per client address
(shared/http/ratelimit.py code_request, code_check) beside the limits per phone; a 429 with Retry-After."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from hotline.infra.kannel import free_port
from services.outbound.self_service_api import customer_address
from tests.conftest import TopicFactory
from tests.integration.outbound.harness import make_service, running

pytestmark = pytest.mark.integration


async def _ask(client: httpx.AsyncClient, phone: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Customer-Address": address} if address else {}
    return await client.post("/api/v1/self-service/codes", json={"branch": "default", "phone": phone}, headers=headers)


async def test_codes_asked_and_tried_from_one_client_are_limited_whatever_the_phones(
    fresh_database_url: str,
    kafka_bootstrap: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_RATE_LIMIT_DEFAULTS", '{"code_request": "2/hour", "code_check": "3/hour"}')
    topic, port = await new_topic(partitions=1), free_port()
    service = await make_service(fresh_database_url, kafka_bootstrap, topic, tmp_path, None, port, None)
    try:
        async with running(service, port) as client:
            client.headers.pop("Authorization")
            browser = "203.0.113.7"  # the address the console forwards for one browser
            first = await _ask(client, "13800004001", browser)
            second = await _ask(client, "13800004002", browser)
            assert (first.status_code, second.status_code) == (202, 202), second.text
            third = await _ask(client, "13800004003", browser)  # a new phone, the same client
            assert third.status_code == 429, third.text
            problem = third.json()["error"]
            assert problem["code"] == "too_many_requests"
            assert problem["fields"][0]["field"] == "phone"
            assert 0 < int(third.headers["retry-after"]) <= 3600
            assert int(problem["fields"][0]["seconds"]) == int(third.headers["retry-after"])
            other = await _ask(client, "13800004003", "203.0.113.8")  # another browser is not held back
            assert other.status_code == 202, other.text

            challenge = first.json()["challenge_id"]
            tries = [
                await client.post(
                    "/api/v1/self-service/sessions",
                    json={"challenge_id": challenge, "code": "000000"},
                    headers={"X-Customer-Address": browser},
                )
                for _ in range(4)
            ]
            assert [t.status_code for t in tries[:3]] == [422, 422, 422]
            assert tries[3].status_code == 429
            assert tries[3].json()["error"]["fields"][0]["field"] == "code"
            assert int(tries[3].headers["retry-after"]) >= 1
    finally:
        await service.close()


def _request(client: str, forwarded: str | None, trusted: tuple[str, ...]) -> Request:
    headers = [(b"x-customer-address", forwarded.encode())] if forwarded else []
    app = type("App", (), {"state": type("State", (), {"trusted_proxies": trusted})()})()
    return Request({"type": "http", "headers": headers, "client": (client, 5000), "app": app})


def test_only_a_trusted_caller_may_name_the_customers_address() -> None:
    assert customer_address(_request("127.0.0.1", "203.0.113.7", ("127.0.0.1",))) == "ip:203.0.113.7"
    assert customer_address(_request("198.51.100.9", "203.0.113.7", ("127.0.0.1",))) == "ip:198.51.100.9"
    assert customer_address(_request("127.0.0.1", None, ("127.0.0.1",))) == "ip:127.0.0.1"


async def test_only_the_self_service_create_takes_a_body_the_size_of_its_photos(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    """The phone form passes up to 3 photos of 5 MB (base64) on to intake; every other route keeps 1 MB."""
    topic, port = await new_topic(partitions=1), free_port()
    service = await make_service(fresh_database_url, kafka_bootstrap, topic, tmp_path, None, port, None)
    padded = {"branch": "default", "phone": "13800004009", "padding": "x" * 2_000_000}
    try:
        async with running(service, port) as client:
            client.headers.pop("Authorization")
            create = await client.post("/api/v1/self-service/tickets", json=padded)
            assert create.status_code != 413, create.text  # refused for what it says (no session), not its size
            codes = await client.post("/api/v1/self-service/codes", json=padded)
            assert codes.status_code == 413, codes.text
            assert codes.json()["error"]["code"] == "payload_too_large"
    finally:
        await service.close()
