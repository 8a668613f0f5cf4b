"""The people of the simulation: agents taking calls, unit handlers, the center and callback agents, over HTTP only.

Each actor polls the public API as a person would look at a screen, and acts when the plan
(`hotline.simulate.traffic`) says so, waiting in simulated time (real seconds = simulated / speed).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from hotline.simulate.traffic import PlannedCall, ReturnPlan, UnitScript
from shared.clock import Clock
from shared.runtime import API_PORTS

# A unit's on-time reply never waits longer than this (a 7-working-day clock would outlast the run).
REPLY_CAP = timedelta(hours=30)
# Late replies are played only on clocks this short; longer ones would end after the run.
LATE_HORIZON = timedelta(hours=36)
POLL_SECONDS = 0.5
CALL_AGENTS = 4  # agents taking calls (tokens agent-1 .. agent-4)


@dataclass
class SimTime:
    """The services' shared simulated clock, and waiting on it."""

    clock: Clock
    speed: float

    def now(self) -> datetime:
        return self.clock.now()

    async def sleep_until(self, instant: datetime) -> None:
        delay = (instant - self.clock.now()).total_seconds() / self.speed
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass
class Api:
    """One HTTP client for every service, with bounded concurrency, a few retries and counters."""

    client: httpx.AsyncClient
    tokens: Mapping[str, str]  # who -> bearer token
    concurrency: int = 16
    # base URL per service (`hotline chaos` runs on ports of its own); the port plan of `hotline up` by default
    urls: Mapping[str, str] = field(default_factory=lambda: {s: f"http://127.0.0.1:{p}" for s, p in API_PORTS.items()})
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)

    async def call(
        self, method: str, service: str, path: str, who: str, *, json: Any = None, params: Any = None
    ) -> httpx.Response | None:
        url = f"{self.urls[service]}/api/v1{path}"
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        for attempt in range(4):
            try:
                async with self._slots:
                    response = await self.client.request(method, url, json=json, params=params, headers=headers)
            except httpx.HTTPError as error:
                self.statuses["transport_error"] += 1
                if attempt == 3:
                    self.note(f"{method} {service}{path}: {error!r}")
                    return None
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            self.statuses[f"{response.status_code // 100}xx"] += 1
            if response.status_code >= 500 and attempt < 3:
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if response.status_code >= 400 and response.status_code != 409:  # 409: lost a race, as people do
                self.note(f"{method} {service}{path}: {response.status_code} {response.text[:300]}")
            return response
        return None

    def note(self, line: str) -> None:
        if len(self.failures) < 50:
            self.failures.append(line)


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _span(clock: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """A running clock's start and deadline (the API gives both for a running clock)."""
    start, deadline = _instant(clock["started_at"]), _instant(clock["deadline"])
    if start is None or deadline is None:
        raise ValueError(f"a running {clock.get('clock')} clock without start or deadline: {dict(clock)}")
    return start, deadline


def _clocks(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["clock"]: c for c in summary.get("clocks", [])}


@dataclass
class Registry:
    """Which planned call each ticket came from (to play its people's script) and what was placed."""

    calls: dict[str, PlannedCall] = field(default_factory=dict)
    placed: int = 0
    refused: int = 0
    returned: set[str] = field(default_factory=set)  # each plan returns a ticket once, whichever unit holds it

    def script(self, ticket_id: str) -> PlannedCall | None:
        return self.calls.get(ticket_id)


class CallAgents:
    """Hotline agents: each planned call arrives at its time and becomes a work order (or an alarm)."""

    def __init__(self, api: Api, time: SimTime, registry: Registry, day: datetime) -> None:
        self.api, self.time, self.registry, self.day = api, time, registry, day

    async def run(self, calls: tuple[PlannedCall, ...], on_placed: Callable[[], None]) -> None:
        async def one(call: PlannedCall) -> None:
            await self.time.sleep_until(self.day + call.at)
            ticket_id = await self.place(call)
            if ticket_id is None:
                self.registry.refused += 1
            else:
                self.registry.calls[ticket_id] = call
            self.registry.placed += 1
            on_placed()

        await asyncio.gather(*(one(call) for call in calls))

    async def place(self, call: PlannedCall) -> str | None:
        caller = call.caller
        location = {"district": caller.district, "community": caller.community}
        who = f"agent-{call.index % CALL_AGENTS + 1}"
        if call.category.value == "alarm":
            # RULES.md §1 alarm: the fast path phones the unit the agent names, then the ticket is back-filled
            body = {
                "address": caller.address,
                "name": caller.name,
                "phone": caller.phone,
                "scene": call.description,
                "unit_id": call.unit_id,
                "location": location,
            }
            response = await self.api.call("POST", "intake", "/alarms", who, json=body)
            if response is None or response.status_code != 201:
                return None
            return str(response.json()["ticket"]["ticket_id"])
        ticket: dict[str, Any] = {
            "category": call.category.value,
            "customer": {"name": caller.name, "phone": caller.phone, "address": caller.address},
            "location": location,
            "description": call.description,
            "callback": {"mode": "declined" if call.callback_declined else "required"},
        }
        if call.subtype is not None:
            ticket["subtype"] = call.subtype.value
        if call.complaint is not None:
            ticket["complaint"] = {
                "place": call.complaint.place,
                "complaint_type": call.complaint.complaint_type,
                "litigation": call.complaint.litigation,
                "media_exposure": call.complaint.media_exposure,
            }
        if call.on_call:
            ticket["first_contact_resolution"] = {"answer": f"已在电话中答复：{call.description}"}
        response = await self.api.call("POST", "intake", "/tickets", who, json=ticket)
        if response is None or response.status_code != 201:
            return None
        return str(response.json()["ticket_id"])


class Desk:
    """An actor that looks at one screen every POLL_SECONDS and starts one task per item it has not started."""

    def __init__(self, api: Api, time: SimTime, registry: Registry, rng: random.Random) -> None:
        self.api, self.time, self.registry, self.rng = api, time, registry, rng
        self.busy: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self, key: str, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            finally:
                self.busy.discard(key)

        self.busy.add(key)
        task = asyncio.create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def look(self) -> None:
        raise NotImplementedError

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.look()
            except (httpx.HTTPError, ValueError, KeyError) as error:
                self.api.note(f"{type(self).__name__}: {error!r}")
            try:
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
            except TimeoutError:
                pass
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


_DEFAULT_SCRIPT = UnitScript(accept_after=timedelta(minutes=10), contact_fraction=0.3, reply_fraction=0.4)


class UnitDesk(Desk):
    """A unit's handler: accepts, contacts, asks for extensions, returns and replies, per the plan."""

    def __init__(self, unit_id: str, *args: Any) -> None:
        super().__init__(*args)
        self.unit_id = unit_id
        self.who = f"unit:{unit_id}"
        self.rounds: Counter[str] = Counter()

    async def look(self) -> None:
        response = await self.api.call("GET", "dispatch", "/unit/inbox", self.who)
        if response is None or response.status_code != 200:
            return
        for summary in response.json():
            ticket_id = summary["ticket_id"]
            if ticket_id not in self.busy:
                self.rounds[ticket_id] += 1
                self.start(ticket_id, self.work(summary, self.rounds[ticket_id]))

    async def act(self, ticket_id: str, action: str, body: Any = None) -> bool:
        response = await self.api.call("POST", "dispatch", f"/tickets/{ticket_id}/{action}", self.who, json=body)
        return response is not None and response.status_code in (200, 201)

    async def work(self, summary: Mapping[str, Any], round_: int) -> None:
        ticket_id = summary["ticket_id"]
        call = self.registry.script(ticket_id)
        script = call.unit if call is not None else _DEFAULT_SCRIPT
        first = round_ == 1
        dispatched = _instant(summary.get("dispatched_at")) or self.time.now()
        if first and script.returns is not None and ticket_id not in self.registry.returned:
            await self._return(ticket_id, dispatched, script.returns)
            return
        if summary["status"] == "dispatched":
            await self.time.sleep_until(dispatched + script.accept_after)
            if not await self.act(ticket_id, "accept"):
                return
        clocks = _clocks(summary)
        contact = clocks.get("contact")
        if contact and contact["running"]:
            start, deadline = _span(contact)
            at = start + (deadline - start) * script.contact_fraction
            if first and script.contact_late_by is not None and deadline - start <= LATE_HORIZON:
                at = deadline + script.contact_late_by
            await self.time.sleep_until(min(at, start + REPLY_CAP))
            if not await self.act(ticket_id, "contact", {"method": "phone", "note": "已电话联系客户"}):
                return
        governing = next((clocks[c] for c in ("handle", "resolve") if c in clocks and clocks[c]["running"]), None)
        if governing is None:  # alarms and praise: the unit goes, verifies and reports back
            at = max(dispatched, self.time.now()) + timedelta(minutes=30 + 150 * script.reply_fraction)
        else:
            start, deadline = _span(governing)
            at = min(start + (deadline - start) * script.reply_fraction, start + REPLY_CAP)
            if first and script.extension is not None and deadline - start <= LATE_HORIZON:
                await self.time.sleep_until(start + (deadline - start) / 2)
                body = {
                    "clock": script.extension.clock,
                    "requested_deadline": (deadline + script.extension.extra).isoformat(),
                    "reason_text": "需协调施工队伍，申请延期",
                }
                await self.act(ticket_id, "extensions", body)
            if first and script.late_by is not None and deadline - start <= LATE_HORIZON:
                at = deadline + script.late_by
        await self.time.sleep_until(at)
        await self.act(ticket_id, "reply", {"result": _reply_text(call), "opinion": "已处理完毕"})

    async def _return(self, ticket_id: str, dispatched: datetime, plan: ReturnPlan) -> None:
        await self.time.sleep_until(dispatched + plan.after)
        text = {"outside_duties": "不属于本站职责范围", "customer_unreachable": "多次联系客户未果"}.get(
            plan.reason, "地址信息有误"
        )
        if await self.act(ticket_id, "return", {"reason": plan.reason, "reason_text": text}):
            self.registry.returned.add(ticket_id)


def _reply_text(call: PlannedCall | None) -> str:
    if call is None:
        return "已处理"
    return f"已上门处理：{call.description}，处理结果已告知客户"


class CenterDesk(Desk):
    """The center supervisor: manual dispatch, returns, extension decisions and reply reviews."""

    who = "center"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.rejected: set[str] = set()
        self.decided: set[str] = set()

    async def look(self) -> None:
        for path, handler in (
            ("/center/queue", self._queued),
            ("/center/extensions", self._extension),
            ("/center/reviews", self._review),
        ):
            response = await self.api.call("GET", "dispatch", path, self.who)
            if response is None or response.status_code != 200:
                continue
            for item in response.json():
                key = f"{path}:{item.get('request_id') or item['ticket_id']}:{item.get('version', '')}"
                if key not in self.busy and key not in self.decided:
                    self.start(key, handler(item, key))

    async def act(self, ticket_id: str, path: str, body: Any) -> bool:
        response = await self.api.call("POST", "dispatch", f"/tickets/{ticket_id}/{path}", self.who, json=body)
        return response is not None and response.status_code in (200, 201)

    async def _queued(self, item: Mapping[str, Any], key: str) -> None:
        ticket_id = item["ticket_id"]
        call = self.registry.script(ticket_id)
        seen = self.time.now()
        if item["status"] == "returned":
            plan = call.unit.returns if call is not None else None
            await self.time.sleep_until(seen + timedelta(minutes=self.rng.uniform(3, 15)))
            if plan is not None and plan.center_refuses:
                done = await self.act(ticket_id, "refuse-return", {"reason_text": "属于本站职责，请继续处理"})
            else:
                unit = plan.redispatch_to if plan is not None else (item.get("unit_id") or "U-QINGXIU")
                done = await self.act(ticket_id, "dispatch", {"unit_id": unit})
        else:
            received = _instant(item.get("received_at")) or seen
            delay = call.manual_dispatch_after if call and call.manual_dispatch_after else timedelta(minutes=5)
            await self.time.sleep_until(received + delay)
            unit = call.unit_id if call is not None else "U-QINGXIU"
            done = await self.act(ticket_id, "dispatch", {"unit_id": unit})
        if done:
            self.decided.add(key)

    async def _extension(self, item: Mapping[str, Any], key: str) -> None:
        call = self.registry.script(item["ticket_id"])
        granted = call.unit.extension.granted if call is not None and call.unit.extension is not None else True
        await self.time.sleep_until(self.time.now() + timedelta(minutes=self.rng.uniform(2, 10)))
        body = {"decision": "grant" if granted else "deny", "reason_text": "同意" if granted else "理由不充分"}
        path = f"extensions/{item['request_id']}/decision"
        if await self.act(item["ticket_id"], path, body):
            self.decided.add(key)

    async def _review(self, item: Mapping[str, Any], key: str) -> None:
        ticket_id = item["ticket_id"]
        call = self.registry.script(ticket_id)
        await self.time.sleep_until(self.time.now() + timedelta(minutes=self.rng.uniform(3, 20)))
        if call is not None and call.unit.reply_rejected and ticket_id not in self.rejected:
            body = {"decision": "reject", "reason": "incomplete", "reason_text": "缺少处理结果照片"}
            if await self.act(ticket_id, "review", body):
                self.rejected.add(ticket_id)
                self.decided.add(key)
            return
        if await self.act(ticket_id, "review", {"decision": "approve"}):
            self.decided.add(key)


class CallbackDesk(Desk):
    """A callback agent working the due queue: claim, call, record the outcome the plan gives."""

    def __init__(self, who: str, *args: Any) -> None:
        super().__init__(*args)
        self.who = who

    async def look(self) -> None:
        response = await self.api.call("GET", "callback", "/callbacks/due", self.who, params={"limit": 100})
        if response is None or response.status_code != 200:
            return
        items = response.json()["items"]
        self.rng.shuffle(items)  # several agents: each starts somewhere else in the queue
        for item in items:
            key = f"{item['callback_id']}:{item['next_attempt_number']}"
            if key not in self.busy and not item.get("claimed_by"):
                self.start(key, self.work(item))

    async def work(self, item: Mapping[str, Any]) -> None:
        callback_id = item["callback_id"]
        claimed = await self.api.call("POST", "callback", f"/callbacks/{callback_id}/claim", self.who)
        if claimed is None or claimed.status_code != 200:
            return  # another agent took it
        call = self.registry.script(item["ticket_id"])
        outcomes = call.callback.outcomes if call is not None else ("reached",)
        attempt = int(item["next_attempt_number"]) - 1
        outcome = outcomes[min(attempt, len(outcomes) - 1)] if item["round"] == 1 else "reached"
        body: dict[str, Any] = {"outcome": outcome}
        if outcome == "reached" and item["kind"] == "survey":
            body["problem_solved"] = call.callback.problem_solved if call is not None else True
            body["satisfaction"] = call.callback.satisfaction if call is not None else 5
        elif outcome == "asked_another_time":
            body["call_back_at"] = (self.time.now() + timedelta(hours=2)).isoformat()
        elif outcome == "reply_mismatch":
            body["customer_account"] = "客户反映问题仍未解决，与回复不符"
        await self.api.call("POST", "callback", f"/callbacks/{callback_id}/outcome", self.who, json=body)
