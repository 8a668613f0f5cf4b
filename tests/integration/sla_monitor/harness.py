"""Runs SLA monitor worker processes on test topics, feeds them tickets and reads what they announce."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events import TicketReceived, decode, encode, message_key, new_event

REPO = Path(__file__).resolve().parents[3]
LAUNCH = "from services.sla_monitor.main import main; main('worker')"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MonitorProcess:
    """One `sla_monitor` worker process with its own state folder and log file."""

    def __init__(self, env: dict[str, str], state_dir: Path, log_path: Path) -> None:
        self.env = dict(env, HOTLINE_STATE_DIR=str(state_dir), HOTLINE_WORKER_PORT=str(free_port()))
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", LAUNCH], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def wait_ready(self, within: float = 60) -> None:
        """Until the worker's health endpoint says ready (its Faust app started), then a little for assignment."""
        import httpx

        url = f"http://127.0.0.1:{self.env['HOTLINE_WORKER_PORT']}/health/ready"
        end = time.monotonic() + within
        while time.monotonic() < end:
            if not self.alive():
                raise AssertionError(f"worker died:\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    time.sleep(3)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"worker not ready in {within} s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def monitor_env(bootstrap: str, tickets: str, sla: str, ticks: str, app_id: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO),
        KAFKA_BOOTSTRAP=bootstrap,
        HOTLINE_KAFKA_BOOTSTRAP=bootstrap,
        HOTLINE_JWT_SECRET="integration-secret-0123456789abcdef",
        HOTLINE_SLA_TICKETS_TOPIC=tickets,
        HOTLINE_SLA_SLA_TOPIC=sla,
        HOTLINE_SLA_NOTIFICATIONS_TOPIC=sla + ".notices",
        HOTLINE_SLA_TICK_TOPIC=ticks,
        HOTLINE_SLA_APP_ID=app_id,
        HOTLINE_SLA_SESSION_TIMEOUT="6",
        HOTLINE_LOG_LEVEL="WARNING",
    )
    return env


async def send_tickets(bootstrap: str, topic: str, due_at: list[datetime], prefix: str) -> list[str]:
    """One repair ticket per due instant: received 5 minutes before it, so its dispatch clock falls due then."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    ids = []
    try:
        for i, due in enumerate(due_at):
            ticket_id = f"{prefix}-{i:06d}"
            received = due - timedelta(minutes=5)
            event = new_event(
                TicketReceived(channel="phone", category="repair", received_at=received),
                ticket_id=ticket_id,
                branch="default",
                producer="test",
                correlation_id=ticket_id,
                occurred_at=datetime.now(UTC),
            )
            await producer.send(topic, encode(event), key=message_key(event))
            ids.append(ticket_id)
        await producer.flush()
    finally:
        await producer.stop()
    return ids


async def read_breaches(bootstrap: str, topic: str, expected: int, within: float) -> dict[tuple[str, str], set[str]]:
    """(ticket, clock) -> event ids of every SlaBreached seen on the topic, once `expected` pairs showed up."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    messages = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    idle_after_complete = 0
    try:
        while loop.time() < end:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = decode(record.value)
                    if event.type == "SlaBreached":
                        messages += 1
                        seen[(str(event.ticket_id), str(event.payload.clock))].add(str(event.event_id))  # type: ignore[attr-defined]
            if len(seen) >= expected:
                idle_after_complete += 1
                if idle_after_complete >= 6:  # three more seconds to catch a late duplicate
                    break
    finally:
        await consumer.stop()
    seen_messages[topic] = messages
    return seen


seen_messages: dict[str, int] = {}
