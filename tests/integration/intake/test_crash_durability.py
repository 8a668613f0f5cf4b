"""A kill -9 of the database server, then of the intake API, amid a stream of creates loses no acknowledged order.

The server is a private copy of the bundled PostgreSQL as `hotline infra up` configures it (durable by default), the
API a real `hotline service run intake --role api` process. Every 201 the clients got must be in the tickets table,
with its `TicketReceived` in the outbox, and the branch's daily numbers stay gapless (RULES.md: one number per work
order) across both crashes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from bench.intake_create import wait_ready
from hotline.infra.postgres import PostgresServer
from shared.auth import AuthSettings, Role, issue_token
from tests.integration.infra.private import free_port, private_postgres_settings

ROOT = Path(__file__).resolve().parents[3]
SECRET = "crash-test-" + uuid.uuid4().hex
BRANCH = "demo"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PostgresServer]:
    pg = PostgresServer(private_postgres_settings(tmp_path))
    pg.start()
    yield pg
    pg.stop()
    shutil.rmtree(pg.root, ignore_errors=True)


def kill_server(pg: PostgresServer) -> None:
    """SIGKILL the postmaster and every backend at once (what a crash of the server leaves: no shutdown checkpoint)."""
    postmaster = pg.pid()
    assert postmaster is not None
    children = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _ppid(int(entry.name)) == postmaster
    ]
    for pid in (postmaster, *children):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while Path(f"/proc/{postmaster}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not pg.is_running():
        # a dead postmaster left unreaped (a zombie) still passes PostgreSQL's own lock-file check; after a real
        # crash there is no such process, so the stale lock file goes, as it would with the machine's restart
        (pg.data_dir / "postmaster.pid").unlink(missing_ok=True)


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


class Api:
    """The intake API as its own process; `kill()` is a SIGKILL, `start()` a fresh process on the same port."""

    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "HOTLINE_INTAKE_DATABASE_URL": database_url,
            "HOTLINE_API_PORT": str(self.port),
            "HOTLINE_JWT_SECRET": SECRET,
            "HOTLINE_BRANCH": BRANCH,
            "HOTLINE_LOG_LEVEL": "WARNING",
            "HOTLINE_RATE_LIMIT_ENABLED": "false",  # one token posts everything
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hotline", "service", "run", "intake", "--role", "api"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def order(i: int) -> dict[str, object]:
    return {
        "category": "repair",
        "customer": {"name": "张三", "phone": f"139{i:08d}", "address": f"南宁市青秀区民族大道{i}号"},
        "description": "燃气灶打不着火",
    }


async def stored(pg: PostgresServer) -> tuple[dict[str, str], set[str]]:
    """ticket id -> number of every stored work order, and the ticket ids of the outbox's TicketReceived rows."""
    s = pg.settings
    connection = await asyncpg.connect(
        host=s.host, port=s.postgres_port, user=s.postgres_user, password=s.postgres_password, database="intake"
    )
    try:
        tickets = {r["ticket_id"]: r["ticket_number"] for r in await connection.fetch("SELECT * FROM tickets")}
        outbox = {
            r["key"].decode()
            for r in await connection.fetch("SELECT key FROM outbox WHERE event_type = 'TicketReceived'")
        }
    finally:
        await connection.close()
    return tickets, outbox


async def test_kill_9_of_the_database_and_of_the_api_loses_no_acknowledged_work_order(server: PostgresServer):
    api = Api(server.url("intake"))
    api.start()
    token = issue_token(
        AuthSettings(jwt_secret=SECRET),  # type: ignore[arg-type]
        subject="crash-agent",
        role=Role.AGENT,
        branch=BRANCH,
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
    )
    acknowledged: dict[str, str] = {}  # ticket id -> number, from the 201 answers
    refused = 0
    stop = asyncio.Event()
    counter = iter(range(1_000_000))
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api.port}", headers={"Authorization": f"Bearer {token}"}, timeout=15
        ) as client:
            await wait_ready(client, 90)

            async def stream() -> None:
                nonlocal refused
                while not stop.is_set():
                    try:
                        answer = await client.post("/api/v1/tickets", json=order(next(counter)))
                    except httpx.TransportError:
                        refused += 1  # not acknowledged: the client would retry
                        await asyncio.sleep(0.05)
                        continue
                    if answer.status_code == 201:
                        body = answer.json()
                        acknowledged[body["ticket_id"]] = body["ticket_number"]
                    else:
                        refused += 1
                        await asyncio.sleep(0.05)

            async def acknowledged_more_than(n: int, seconds: float = 90) -> None:
                async with asyncio.timeout(seconds):
                    while len(acknowledged) <= n:
                        await asyncio.sleep(0.05)

            clients = [asyncio.create_task(stream()) for _ in range(4)]
            await acknowledged_more_than(30)
            await asyncio.to_thread(kill_server, server)  # creates in flight: some committed, some not
            at_server_kill = len(acknowledged)
            await asyncio.to_thread(server.start)  # crash recovery from the WAL
            await acknowledged_more_than(at_server_kill + 30)
            api.kill()  # creates in flight again
            at_api_kill = len(acknowledged)
            api.start()
            await acknowledged_more_than(at_api_kill + 30)
            stop.set()
            await asyncio.gather(*clients)
    finally:
        api.stop()

    tickets, outbox = await stored(server)
    lost = set(acknowledged) - set(tickets)
    assert not lost, f"{len(lost)} acknowledged work orders lost of {len(acknowledged)}"
    assert all(tickets[t] == n for t, n in acknowledged.items())  # the number the caller was told is the stored one
    assert set(acknowledged) <= outbox  # each one's TicketReceived will reach dispatch
    # gapless: the day's numbers are 1..N, every stored work order has one, none twice
    days: dict[str, list[int]] = {}
    for number in tickets.values():
        day, serial = number.rsplit("-", 1)
        days.setdefault(day, []).append(int(serial))
    assert all(sorted(serials) == list(range(1, len(serials) + 1)) for serials in days.values()), days
    assert refused > 0  # the crashes did interrupt the stream (else the test proved nothing)
