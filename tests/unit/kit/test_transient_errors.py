"""An event is never given up because the database was away (issue 14's long chaos run: a PostgreSQL restart
dead-lettered one event each of reporting, outbound and intake), while a bad event still is."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy.exc
from aiokafka.structs import ConsumerRecord

from shared.bus import ConsumerSettings, EventConsumer
from shared.clock import SystemClock
from shared.db import is_transient
from shared.events import Event, Payload, TicketAccepted, encode, new_event


class _PgError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _chained() -> BaseException:
    try:
        try:
            raise ConnectionResetError("connection reset by peer")
        except ConnectionResetError as reset:
            raise RuntimeError("the handler's query failed") from reset
    except RuntimeError as error:
        return error


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("the database system is shutting down")), True),
        (sqlalchemy.exc.DBAPIError("SELECT 1", {}, _PgError("terminating connection", "57P01")), True),
        (sqlalchemy.exc.DBAPIError("SELECT 1", {}, _PgError("the database system is starting up", "57P03")), True),
        (sqlalchemy.exc.DBAPIError("UPDATE t", {}, _PgError("could not serialize access", "40001")), True),
        (sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database is locked")), True),  # SQLite
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError(), True),
        (_chained(), True),
        (sqlalchemy.exc.IntegrityError("INSERT", {}, _PgError("duplicate key value", "23505")), False),
        (sqlalchemy.exc.OperationalError("SELECT", {}, Exception("no such table: tickets")), False),  # a bug
        (ValueError("this ticket's handler always fails"), False),
    ],
)
def test_an_outage_is_told_from_a_bad_event(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


class _Producer:
    """Records what the consumer sends to the dead-letter topic."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.sent.append((topic, value))


def _event() -> tuple[Event[Payload], ConsumerRecord[bytes, bytes]]:
    event: Event[Payload] = new_event(
        TicketAccepted(unit_id="U1", handler_id="h1"),
        ticket_id="T-1",
        branch="GX",
        producer="test",
        correlation_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )
    record = ConsumerRecord("hotline.tickets", 0, 7, 0, 0, b"T-1", encode(event), None, 3, 10, ())
    return event, record


def _consumer(handler: Any, producer: _Producer) -> EventConsumer:
    settings = ConsumerSettings("127.0.0.1:1", "g", ["hotline.tickets"], "kit", attempts=2, retry_delay=0.001)
    return EventConsumer("kit", settings, handler, producer, SystemClock())  # type: ignore[arg-type]


async def test_an_event_waits_out_a_database_restart_longer_than_its_attempts_and_is_handled() -> None:
    tries: list[int] = []

    async def handler(batch: Sequence[Event[Payload]]) -> None:
        tries.append(len(batch))
        if len(tries) <= 8:  # four times the attempts an event has: the database is restarting
            raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("the database system is shutting down"))

    producer = _Producer()
    event, record = _event()
    await _consumer(handler, producer)._handle_one(event, record)
    assert len(tries) == 9 and producer.sent == []  # handled on the 9th try, nothing dead-lettered


async def test_a_bad_event_is_still_dead_lettered_after_its_attempts() -> None:
    tries: list[int] = []

    async def handler(batch: Sequence[Event[Payload]]) -> None:
        tries.append(len(batch))
        raise ValueError("this ticket's handler always fails")

    producer = _Producer()
    event, record = _event()
    await _consumer(handler, producer)._handle_one(event, record)
    assert len(tries) == 2 and [topic for topic, _ in producer.sent] == ["hotline.deadletter"]
