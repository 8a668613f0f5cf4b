"""The running system as the stories see it: base URLs, tokens, the shared clock, the events on the topics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from shared.auth.roles import Role
from shared.auth.settings import AuthSettings
from shared.auth.tokens import issue_token
from shared.clock import ScaledClock
from shared.events import Event, EventDecodeError, Payload, decode

NANNING = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")


# --------------------------------------------------------------------------- events on the topics


class EventLog:
    """Every event on the run's tickets / sla / notifications topics since the session began, by ticket id."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.by_ticket: dict[str, list[Event[Payload]]] = {}
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None)
        await consumer.start()
        partitions = []
        for topic in self.topics:
            for _ in range(50):
                found = consumer.partitions_for_topic(topic)
                if found:
                    break
                await consumer._client.force_metadata_update()  # the topics were just made
                await asyncio.sleep(0.2)
            partitions += [TopicPartition(topic, p) for p in sorted(found or ())]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)  # pin the start before any story produces
        self._consumer = consumer
        self._task = asyncio.create_task(self._read(consumer), name="e2e-event-log")

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            if not batches:
                continue
            for records in batches.values():
                for record in records:
                    try:
                        event = decode(record.value or b"")
                    except EventDecodeError:
                        continue
                    key = event.ticket_id or event.article_id  # knowledge events are keyed by article
                    if key is not None:
                        self.by_ticket.setdefault(key, []).append(event)
            async with self._changed:
                self._changed.notify_all()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    def of(self, ticket_id: str, *types: str) -> list[Event[Any]]:
        """The ticket's events so far in topic order (per topic), only `types` when given."""
        events = self.by_ticket.get(ticket_id, [])
        return [e for e in events if not types or e.type in types]

    def types(self, ticket_id: str) -> list[str]:
        return [e.type for e in self.of(ticket_id)]

    async def wait_for(
        self,
        ticket_id: str,
        event_type: str,
        where: Callable[[Any], bool] = lambda payload: True,
        within: float = 60.0,
    ) -> Event[Any]:
        """The first event of `event_type` of the ticket whose payload satisfies `where`."""

        def found() -> Event[Any] | None:
            for event in self.of(ticket_id, event_type):
                if where(event.payload):
                    return event
            return None

        try:
            async with asyncio.timeout(within):
                async with self._changed:
                    while (event := found()) is None:
                        await self._changed.wait()
                    return event
        except TimeoutError:
            raise AssertionError(
                f"no {event_type} for ticket {ticket_id} within {within:.0f} s; seen: {self.types(ticket_id)}"
            ) from None


# --------------------------------------------------------------------------- the system


@dataclass
class System:
    """What a story needs: base URLs, tokens per role and scope, the shared clock, the events."""

    urls: dict[str, str]
    secret: str
    api_key: str
    clock: ScaledClock
    events: EventLog
    folder: Path
    # every process of `hotline up`'s plan by name (intake-worker, sla_monitor-all...): its health/metrics port
    processes: dict[str, int] = field(default_factory=dict)
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    def token(
        self,
        role: Role | str,
        branch: str = "demo",
        *,
        unit: str | None = None,
        division: str | None = None,
        subject: str | None = None,
    ) -> str:
        role = Role(role)
        settings = AuthSettings(jwt_secret=self.secret)  # type: ignore[arg-type]
        who = subject or f"e2e-{role.value}-{unit or division or branch}"
        return issue_token(
            settings,
            subject=who,
            role=role,
            branch=branch,
            now=datetime.now(UTC),  # tokens expire on the wall clock, not the simulated one
            ttl=timedelta(hours=2),
            unit=unit,
            division=division,
        )

    def client(self, service: str, role: Role | str, branch: str = "demo", **claims: str | None) -> httpx.AsyncClient:
        """An HTTP client of one service acting as one principal."""
        headers = {"Authorization": f"Bearer {self.token(role, branch, **claims)}"}
        client = httpx.AsyncClient(base_url=self.urls[service], headers=headers, timeout=30.0)
        self._clients.append(client)
        return client

    def now(self) -> datetime:
        """The simulated instant every service reads, in Nanning time."""
        return self.clock.now().astimezone(NANNING)

    def real_seconds(self, simulated: timedelta) -> float:
        return self.clock.real_seconds(simulated)

    async def eventually(
        self, probe: Callable[[], Awaitable[T | None]], within: float = 60.0, interval: float = 0.3, what: str = ""
    ) -> T:
        """Retry `probe` until it returns without an AssertionError (and not None/False); its last value."""
        deadline = asyncio.get_running_loop().time() + within
        last: BaseException | None = None
        while True:
            try:
                value = await probe()
                if value is not None and value is not False:
                    return value
                last = AssertionError(f"{what or 'probe'} returned {value!r}")
            except (AssertionError, httpx.TransportError) as error:
                last = error
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(f"not within {within:.0f} s: {what} ({last})") from last
            await asyncio.sleep(interval)

    async def close_clients(self) -> None:
        for client in self._clients:
            await client.aclose()
        self._clients.clear()
