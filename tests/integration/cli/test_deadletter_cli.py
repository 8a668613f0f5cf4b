"""`hotline deadletter list | show | replay` against the real broker: why a message was given up, and back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from typer.testing import CliRunner

from hotline.cli import app
from shared.bus import make_producer
from shared.events import dead_letter_for, encode_dead_letter
from tests.conftest import TopicFactory

pytestmark = pytest.mark.integration

ORIGINAL = b'{"type": "TicketReceived", "payload": {"customer": {"phone": "13812345678"}}}'


async def _letters(bootstrap: str, deadletters: str, source: str) -> None:
    producer = make_producer(bootstrap, "deadletter-cli-test")
    await producer.start()
    try:
        for consumer, error in (
            ("hotline-dispatch", RuntimeError("boom 13987650033")),
            ("hotline-callback", KeyError("x")),
        ):
            letter = dead_letter_for(
                ORIGINAL, error, source_topic=source, consumer=consumer, failed_at=datetime.now(UTC), key=b"T-1"
            )
            await producer.send_and_wait(deadletters, encode_dead_letter(letter), key=letter.message_key)
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes | None, bytes | None]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    got: list[tuple[bytes | None, bytes | None]] = []
    try:
        async with asyncio.timeout(30):
            while len(got) < expected:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    got += [(r.key, r.value) for r in records]
    finally:
        await consumer.stop()
    return got


async def test_list_show_and_replay_a_letter(kafka_bootstrap: str, new_topic: TopicFactory) -> None:
    deadletters, source = await new_topic(partitions=1), await new_topic(partitions=1)
    await _letters(kafka_bootstrap, deadletters, source)
    where = ["--bootstrap", kafka_bootstrap, "--topic", deadletters]
    runner = CliRunner()
    listed = await asyncio.to_thread(runner.invoke, app, ["deadletter", "list", "--service", "dispatch", *where])
    assert listed.exit_code == 0, listed.output
    [line] = [x for x in listed.stdout.splitlines() if x.strip()]
    assert line.startswith("0:0\t") and "handler_failed" in line and "13987650033" not in line
    shown = await asyncio.to_thread(runner.invoke, app, ["deadletter", "show", "0:0", *where])
    assert shown.exit_code == 0 and "13812345678" not in shown.stdout and '"reason": "handler_failed"' in shown.stdout
    replayed = await asyncio.to_thread(runner.invoke, app, ["deadletter", "replay", "0:0", *where])
    assert replayed.exit_code == 0 and f"replayed 0:0 to {source}" in replayed.stdout
    assert await _read_all(kafka_bootstrap, source, 1) == [(b"T-1", ORIGINAL)]
    missing = await asyncio.to_thread(runner.invoke, app, ["deadletter", "show", "0:9", *where])
    assert missing.exit_code == 2
