"""The console's figures: page server time of the ticket page and the create form (p50/p95), and the delay from
an event on Kafka to its arrival in connected browsers' event streams (p50/p99, 50 open streams), as JSON.

    python -m bench.console                                  # ~40 pages each, 50 streams, 100 events; < 60 s of load
    python -m bench.console --pages 100 --streams 50 --events 200
    python -m bench.console --only pop --calls 40               # the call pop alone (p50/p99), and in chromium

It starts the whole system like `hotline up` (tests/browser/system.py: every service, identity and the console
as real processes on the broker and PostgreSQL server of `hotline infra`, with topics and databases of their
own), signs in a demo agent through identity, then measures over loopback only:
- page time: request to last byte of GET /tickets/{id} (intake view + SLA timers + callbacks, rendered) and of
  GET /work-orders/new and POST /work-orders (a repair created through intake), one request at a time;
- live delay: `--streams` event streams of the agent (one per browser tab) are open on GET /events; CallOffered
  events for the agent's extension are produced to the run's hotline.cti.calls, each stamped with the wall
  clock; the delay of one arrival is its receipt time minus the stamp (Kafka -> console consumer -> hub ->
  every stream), taken for every stream and event.
- call pop: one agent's event stream is open, as in a browser tab; for each of `--calls` CallOffered events
  (one at a time, stamped with the wall clock) it does what app.js does on the `call` push: GET
  /calls/{id}/pop. The pop delay is the pop's last byte minus the stamp (Kafka -> consumer -> hub -> stream ->
  the browser's request -> intake's APIs -> rendered); its parts: the push's arrival, and the pop request
  with the console's Server-Timing (the APIs' wait and the rendering); then the same calls in Debian's
  chromium, to the moment the pop enters the page.
Bounded in count and time; the system is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from hotline.infra.harness import ensure_kafka, ensure_postgres
from hotline.infra.postgres import TEST_DATABASE
from hotline.infra.settings import InfraSettings
from shared.events import CallOffered, message_key, new_event

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)

    return {
        "n": len(ordered),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def expect(answer: httpx.Response, status: int) -> None:
    if answer.status_code != status:
        raise RuntimeError(f"{answer.request.method} {answer.request.url}: {answer.status_code} {answer.text[:300]}")


async def signed_in(base: str, username: str, password: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=base, timeout=30, headers={"Accept-Language": "zh-CN"})
    page = await client.get("/")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    answer = await client.post("/sign-in", data={"username": username, "password": password, "csrf_token": token})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in refused: {answer.status_code} {answer.text[:200]}")
    home = await client.get("/home")
    return client, CSRF.search(home.text).group(1)  # type: ignore[union-attr]


def repair_form(csrf: str, i: int) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "category": "repair",
        "description": f"bench {i} 灶具打不着火",
        "customer_name": "张测试",
        "phone": f"139{i:08d}",
        "address": f"广西壮族自治区南宁市青秀区民族大道{i}号",
        "district": "青秀区",
        "callback_mode": "required",
    }


async def page_times(client: httpx.AsyncClient, csrf: str, pages: int) -> dict[str, Any]:
    create: list[float] = []
    form: list[float] = []
    ticket: list[float] = []
    ticket_ids: list[str] = []
    for i in range(pages):
        started = time.perf_counter()
        answer = await client.get("/work-orders/new")
        form.append(time.perf_counter() - started)
        expect(answer, 200)
        started = time.perf_counter()
        answer = await client.post("/work-orders", data=repair_form(csrf, 10_000_000 + i))
        create.append(time.perf_counter() - started)
        expect(answer, 303)
        ticket_ids.append(answer.headers["location"].split("/tickets/")[1].split("?")[0])
    for i in range(pages):
        started = time.perf_counter()
        answer = await client.get(f"/tickets/{ticket_ids[i % len(ticket_ids)]}")
        ticket.append(time.perf_counter() - started)
        expect(answer, 200)
    return {"ticket_page": quantiles(ticket), "create_form_get": quantiles(form), "create_form_post": quantiles(create)}


async def live_delay(
    base: str, client: httpx.AsyncClient, csrf: str, bootstrap: str, topic: str, streams: int, events: int
) -> dict[str, Any]:
    extension = f"9{uuid.uuid4().int % 1000:03d}"
    await client.post("/extension", data={"extension": extension, "csrf_token": csrf})
    delays: list[float] = []
    opened = 0
    all_open = asyncio.Event()

    async def stream() -> None:
        nonlocal opened
        async with httpx.AsyncClient(
            base_url=base, cookies=client.cookies, timeout=httpx.Timeout(30.0, read=None)
        ) as own:
            async with own.stream("GET", "/events") as response:
                opened += 1
                if opened == streams:
                    all_open.set()
                got = 0
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        data = json.loads(line[6:])
                        if "call_id" in data:
                            delays.append(time.time() - datetime.fromisoformat(data["occurred_at"]).timestamp())
                            got += 1
                            if got == events:
                                return

    tasks = [asyncio.create_task(stream()) for _ in range(streams)]
    await asyncio.wait_for(all_open.wait(), 30)
    await asyncio.sleep(1.0)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for _ in range(events):
            call = f"bench-{uuid.uuid4().hex[:10]}"
            event = new_event(
                CallOffered(caller_number="13800001001", dialled_number="0771-96877", extension=extension),
                branch="demo",
                producer="bench",
                call_id=call,
                correlation_id=call,
                occurred_at=datetime.now(UTC),
            )
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=message_key(event))
            await asyncio.sleep(0.05)  # 20 events/s, each to every stream
    finally:
        await producer.stop()
    _, pending = await asyncio.wait(tasks, timeout=30)
    for task in pending:
        task.cancel()
    return {"streams": streams, "events": events, "expected": streams * events, **quantiles(delays)}


def _timing(header: str) -> dict[str, float]:
    """`apis;dur=12.3, render;dur=1.2` -> {"apis": 12.3, "render": 1.2} (milliseconds)."""
    found: dict[str, float] = {}
    for part in header.split(","):
        name, _, rest = part.strip().partition(";dur=")
        if rest:
            found[name] = float(rest) / 1000
    return found


async def offer_call(producer: AIOKafkaProducer, topic: str, extension: str, i: int) -> tuple[str, datetime]:
    """The i-th CallOffered of a pop scenario, stamped with the wall clock: its call id and stamp."""
    call = f"pop-{uuid.uuid4().hex[:10]}"
    # callers with a customer record, open tickets and history (the demo customers and the bench's repairs)
    caller = "13800001001" if i % 2 == 0 else f"139{10_000_000 + i % 4:08d}"
    stamp = datetime.now(UTC)
    event = new_event(
        CallOffered(caller_number=caller, dialled_number="0771-96877", extension=extension),
        branch="demo",
        producer="bench",
        call_id=call,
        correlation_id=call,
        occurred_at=stamp,
    )
    await producer.send_and_wait(topic, event.model_dump_json().encode(), key=message_key(event))
    return call, stamp


async def pop_delay(
    base: str, client: httpx.AsyncClient, csrf: str, bootstrap: str, topic: str, calls: int
) -> dict[str, Any]:
    """CallOffered on Kafka -> the pop's HTML in the browser (what app.js does on the push), one call at a time."""
    extension = f"8{uuid.uuid4().int % 1000:03d}"
    await client.post("/extension", data={"extension": extension, "csrf_token": csrf})
    pushed: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
    opened = asyncio.Event()

    async def stream() -> None:
        async with httpx.AsyncClient(
            base_url=base, cookies=client.cookies, timeout=httpx.Timeout(30.0, read=None)
        ) as own:
            async with own.stream("GET", "/events") as response:
                opened.set()
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        data = json.loads(line[6:])
                        if "call_id" in data:
                            await pushed.put((data["call_id"], time.time()))

    listener = asyncio.create_task(stream())
    await asyncio.wait_for(opened.wait(), 30)
    await asyncio.sleep(1.0)
    total: list[float] = []
    push: list[float] = []
    request: list[float] = []
    parts: dict[str, list[float]] = {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for i in range(calls):
            call, stamp = await offer_call(producer, topic, extension, i)
            got, arrived = await asyncio.wait_for(pushed.get(), 30)
            if got != call:
                raise RuntimeError(f"pushed {got}, expected {call}")
            started = time.perf_counter()
            answer = await client.get(f"/calls/{call}/pop", headers={"HX-Request": "true"})
            done = time.time()
            expect(answer, 200)
            request.append(time.perf_counter() - started)
            push.append(arrived - stamp.timestamp())
            total.append(done - stamp.timestamp())
            for name, seconds in _timing(answer.headers.get("server-timing", "")).items():
                parts.setdefault(name, []).append(seconds)
            await asyncio.sleep(0.2)
    finally:
        await producer.stop()
        listener.cancel()
    return {
        "calls": calls,
        "pop_delay": quantiles(total),
        "push_arrival": quantiles(push),
        "pop_request": quantiles(request),
        **{f"server_{name}": quantiles(values) for name, values in parts.items()},
    }


async def pop_in_browser(system: Any, calls: int) -> dict[str, Any]:
    """The same in Debian's chromium: CallOffered on Kafka -> the pop shown in the page (a MutationObserver
    notes the moment `#pop-<call>` enters the document; the browser and the bench share the wall clock)."""
    from playwright.async_api import async_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    shown: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await (await browser.new_context(base_url=system.console_url, locale="en-US")).new_page()
            await page.goto("/")
            await page.fill("#username", "agent.wang")
            await page.fill("#password", system.passwords["agent.wang"])
            await page.click("form[action='/sign-in'] button")
            await page.wait_for_url("**/home")
            extension = f"7{uuid.uuid4().int % 1000:03d}"
            await page.fill("#extension", extension)
            await page.click("form[action='/extension'] button")
            await page.wait_for_url("**/home")
            await page.evaluate(
                """() => { window.popSeen = {}; new MutationObserver(() => {
                  document.querySelectorAll('#call-pop .pop').forEach(el => {
                    if (!(el.id in window.popSeen)) { window.popSeen[el.id] = Date.now(); } }); })
                  .observe(document.body, {childList: true, subtree: true}); }"""
            )
            await page.wait_for_timeout(1000)  # the page's event stream is open
            producer = AIOKafkaProducer(bootstrap_servers=system.bootstrap, linger_ms=0)
            await producer.start()
            try:
                for i in range(calls):
                    call, stamp = await offer_call(producer, system.cti_topic, extension, i)
                    await page.wait_for_selector(f"#pop-{call}", timeout=10_000)
                    seen = await page.evaluate(f"() => window.popSeen['pop-{call}']")
                    shown.append(float(seen) / 1000 - stamp.timestamp())
                    await page.wait_for_timeout(300)
            finally:
                await producer.stop()
        finally:
            await browser.close()
    return {"calls": calls, "pop_shown_in_browser": quantiles(shown)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from tests.browser.system import running_system

    infra = InfraSettings()
    bootstrap, _ = ensure_kafka(infra)
    database_url, _ = ensure_postgres(infra, database=TEST_DATABASE)
    with tempfile.TemporaryDirectory(prefix="bench-console-") as folder:
        async with running_system(bootstrap, database_url, Path(folder)) as system:
            client, csrf = await signed_in(system.console_url, "agent.li", system.passwords["agent.li"])
            result: dict[str, Any] = {"scenario": "console"}
            try:
                if args.only in ("all", "pages", "pop"):
                    # the pop's callers need tickets of their own: the page scenario's repairs make them
                    result["pages"] = await page_times(client, csrf, args.pages if args.only != "pop" else 8)
                if args.only in ("all", "live"):
                    result["live"] = await live_delay(
                        system.console_url, client, csrf, bootstrap, system.cti_topic, args.streams, args.events
                    )
                if args.only in ("all", "pop"):
                    result["pop"] = await pop_delay(
                        system.console_url, client, csrf, bootstrap, system.cti_topic, args.calls
                    )
                    result["pop_browser"] = await pop_in_browser(system, args.calls)
            finally:
                await client.aclose()
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--only", choices=("all", "pages", "live", "pop"), default="all")
    result = asyncio.run(main(parser.parse_args()))
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
