"""Transactional outbox: events are written with the state change and relayed to Kafka after commit."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, cast

import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Uuid,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, Mapper, declared_attr, mapped_column

from shared.clock import Clock
from shared.db import AwareDateTime
from shared.events import Event, encode, message_key
from shared.wakeup import Wakeup

log = structlog.get_logger(__name__)

# On PostgreSQL a transaction that writes outbox rows also sends NOTIFY on this channel; the server delivers it at
# commit (never on rollback) to the relays LISTENing in the same database, so they wake at once instead of polling.
CHANNEL = "hotline_outbox"
# a relay that listens still polls this often, in case a notification was lost with its connection
LISTENING_POLL = 2.0

RELAYED = Counter("hotline_outbox_relayed_total", "Outbox events sent to Kafka", ["service"])
PENDING = Gauge("hotline_outbox_pending", "Outbox events written but not yet sent", ["service"])


class OutboxMixin:
    """Columns of a service's `outbox` table; the service declares `class Outbox(OutboxMixin, Base)`."""

    __tablename__ = "outbox"

    # BIGINT on PostgreSQL, INTEGER on SQLite (its only auto-increment rowid type)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(128))
    key: Mapped[bytes] = mapped_column(LargeBinary)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # the relay reads unsent rows in id order; a partial index keeps that cheap as rows pile up
        return (
            Index(
                "ix_outbox_unsent",
                "id",
                postgresql_where=text("sent_at IS NULL"),
                sqlite_where=text("sent_at IS NULL"),
            ),
        )


@event.listens_for(OutboxMixin, "after_insert", propagate=True)
def _notify_relays_at_commit(_mapper: Mapper[Any], connection: Connection, _row: Any) -> None:
    """One NOTIFY per transaction that writes outbox rows (PostgreSQL; SQLite relays poll)."""
    if connection.dialect.name != "postgresql" or connection.info.get(_NOTIFIED):
        return
    connection.info[_NOTIFIED] = True
    connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


_NOTIFIED = "hotline_outbox_notified"


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
@event.listens_for(Engine, "rollback_savepoint")
def _transaction_ended(connection: Connection, *_: Any) -> None:
    # the next transaction notifies again; so does the rest of one whose savepoint (and its NOTIFY) was rolled back
    if connection.invalidated:
        return  # the database went away mid-transaction: the connection is discarded, its info with it (reading
        # it would raise PendingRollbackError out of the rollback, a 500 in a PostgreSQL restart: issue 14)
    connection.info.pop(_NOTIFIED, None)


def stage(session: AsyncSession, model: type[OutboxMixin], events: Sequence[Event[Any]], clock: Clock) -> None:
    """Add `events` to the outbox in the caller's transaction; they are sent only if it commits."""
    now = clock.now()
    for item in events:
        session.add(
            cast(Any, model)(
                event_id=item.event_id,
                event_type=item.type,
                topic=str(item.topic),
                key=message_key(item),
                value=encode(item),
                created_at=now,
            )
        )


async def count_pending(service: str, sessions: async_sessionmaker[AsyncSession], model: type[OutboxMixin]) -> int:
    """Rows written but not yet sent (the partial index keeps it cheap); sets `hotline_outbox_pending`."""
    async with sessions() as session:
        count = int(await session.scalar(select(func.count()).where(model.sent_at.is_(None))) or 0)
    PENDING.labels(service).set(count)
    return count


class Sender(Protocol):
    """What the relay needs of a Kafka producer (aiokafka's AIOKafkaProducer fits)."""

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any: ...


class RenamingSender:
    """The one sender of every relay: each row to its topic's real name (tests and side-by-side deployments
    rename the contract topics); a topic not renamed passes through."""

    def __init__(self, producer: Sender, rename: Mapping[str, str] | Callable[[str], str]) -> None:
        self._producer = producer
        if callable(rename):
            self._rename = rename
        else:
            names = dict(rename)
            self._rename = lambda topic: names.get(topic, topic)

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        return await self._producer.send(self._rename(topic), value=value, key=key)


class OutboxRelay:
    """Sends unsent outbox rows in id order and marks them sent.

    A crash after sending and before marking sends a row again: consumers drop the duplicate by
    `event_id`. On PostgreSQL a transaction-scoped advisory lock lets several processes run a
    relay for the same database while only one sends at a time, which keeps each ticket's events
    in order; on SQLite run one relay per database file.
    """

    def __init__(
        self,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        model: type[OutboxMixin],
        producer: Sender,
        clock: Clock,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.05,
    ) -> None:
        self.service = service
        self._sessions = sessions
        self._model = model
        self._producer = producer
        self._clock = clock
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = Wakeup()
        self.listening = False  # LISTENing for commits (PostgreSQL): the poll is then only a safety net
        self._lock_key = zlib.crc32(f"hotline-outbox-{service}".encode())

    def notify(self) -> None:
        """Tell the relay that a transaction with outbox rows just committed (skips the poll wait)."""
        self._wake.notify()

    async def relay_once(self) -> int:
        """Send one batch; returns how many rows were sent."""
        model = self._model
        async with self._sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key})
            rows = (
                await session.execute(
                    select(model.id, model.topic, model.key, model.value)
                    .where(model.sent_at.is_(None))
                    .order_by(model.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            # send the whole batch, then wait for every acknowledgement (the idempotent producer
            # keeps them in order per partition)
            futures = [await self._producer.send(row.topic, value=row.value, key=row.key) for row in rows]
            await asyncio.gather(*futures)
            await session.execute(
                update(model).where(model.id.in_([row.id for row in rows])).values(sent_at=self._clock.now())
            )
        RELAYED.labels(self.service).inc(len(rows))
        return len(rows)

    async def pending(self) -> int:
        return await count_pending(self.service, self._sessions, self._model)

    def _on_commit(self, *_: object) -> None:
        self._wake.notify()

    def _poll(self) -> float:
        return max(self._poll_interval, LISTENING_POLL) if self.listening else self._poll_interval

    async def listen(self, stop: asyncio.Event) -> None:
        """On PostgreSQL: LISTEN for the commits of outbox rows and wake the relay; reconnects when the server goes."""
        engine = self._sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
            return
        while not stop.is_set():
            try:
                async with engine.connect() as connection:
                    driver: Any = (await connection.get_raw_connection()).driver_connection
                    await driver.add_listener(CHANNEL, self._on_commit)
                    self.listening = True
                    self._wake.notify()  # rows committed before the LISTEN
                    while not stop.is_set() and not driver.is_closed():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=LISTENING_POLL)
                    if not driver.is_closed():
                        await driver.remove_listener(CHANNEL, self._on_commit)
            except Exception as error:  # the server went away: poll until it is back
                log.warning("outbox_listen_failed", service=self.service, error=str(error))
            finally:
                self.listening = False
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=LISTENING_POLL)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; errors are logged and retried with backoff, never dropped."""
        listener = asyncio.create_task(self.listen(stop), name=f"{self.service}-outbox-listen")
        try:
            await self._run(stop)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _run(self, stop: asyncio.Event) -> None:
        await self._wake.run(
            stop,
            self.relay_once,
            poll=self._poll,
            again_at=self._batch_size,
            max_backoff=5.0,
            failure_event="outbox_relay_failed",
            service=self.service,
        )
