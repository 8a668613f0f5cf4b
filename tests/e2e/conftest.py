"""The whole system as real processes for the end-to-end stories: databases, topics, one clock, tokens, events.

One `system` per test session: a fresh PostgreSQL database per service, the product topics, a JWT secret
and an integration API key, a shared simulated clock (HOTLINE_CLOCK_*) that starts on a plain working
Monday at 08:00 in Nanning, and every service process of `hotline up` started by its Supervisor. The
stories talk to the services only through their HTTP APIs and read the topics with `system.events`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from hotline import system as hotline_system
from shared.auth.tokens import hash_api_key, new_api_key
from shared.branch_config import PACKAGED_DIR
from shared.clock import ScaledClock
from shared.runtime import API_PORTS, SERVICES, WORKER_PORTS
from tests.e2e.harness import NANNING, EventLog, System

# A plain working Monday (no holiday, no branch override): 08:00 opens the callback day (RULES.md §5).
DAY_START = datetime(2026, 3, 9, 8, 0, tzinfo=NANNING)
# One real second is two simulated minutes: a 2-hour limit passes in a minute, a 5-minute one in 2.5 s,
# and the whole suite stays inside one callback day (08:00-21:00).
SPEED = 120.0
# The simulated day starts this many real seconds after launch (the processes take about that long).
STARTUP_SECONDS = 30.0
READY_TIMEOUT = 240.0

_folders: list[Path] = []  # the running system's folder, for the failure hook


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def _admin(database_url: str, statements: list[str]) -> None:
    import asyncpg

    server = make_url(database_url)
    connection = await asyncpg.connect(
        host=server.host, port=server.port, user=server.username, password=server.password, database=server.database
    )
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _process_env(
    bootstrap: str, urls: dict[str, str], folder: Path, secret: str, api_key: str, epoch_real: datetime
) -> dict[str, str]:
    key_hash = hash_api_key(api_key)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_") and k != "DATABASE_URL"}
    env.update(
        {
            "KAFKA_BOOTSTRAP": bootstrap,
            "HOTLINE_STATE_DIR": str(folder / "state"),
            "HOTLINE_JWT_SECRET": secret,
            "HOTLINE_API_KEYS": json.dumps([{"name": "callback-service", "branch": "demo", "sha256": key_hash}]),
            "HOTLINE_CALLBACK_INTAKE_API_KEY": api_key,
            "HOTLINE_CALLBACK_INTAKE_URL": f"http://127.0.0.1:{API_PORTS['intake']}",
            "HOTLINE_LOG_JSON": "true",
            "HOTLINE_CLOCK_SPEED": str(SPEED),
            "HOTLINE_CLOCK_EPOCH_REAL": epoch_real.isoformat(),
            "HOTLINE_CLOCK_EPOCH_SIMULATED": DAY_START.isoformat(),
            "PYTHONUNBUFFERED": "1",
        }
    )
    for service, url in urls.items():
        env[f"HOTLINE_{service.upper()}_DATABASE_URL"] = url
    return env


def _seed_customers(env: dict[str, str]) -> None:
    import subprocess

    csv = PACKAGED_DIR / "demo" / "customers.csv"
    result = subprocess.run(
        [sys.executable, "-m", "hotline", "customers", "import", str(csv), "--branch", "demo"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"demo customers not imported: {result.stdout} {result.stderr}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def system(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    """The four services as real processes on real Kafka and PostgreSQL, stopped at the end whatever happens."""
    if hotline_system.running_system() is not None:
        pytest.fail("a `hotline up` is running on this machine: stop it (`hotline down`) before the e2e suite")
    ports = [*API_PORTS.values(), *WORKER_PORTS.values()]
    busy = [port for port in ports if not _port_free(port)]
    assert not busy, f"ports {busy} are in use: another hotline system runs here"

    folder = tmp_path_factory.mktemp("hotline-e2e")
    run = uuid.uuid4().hex[:8]
    server = make_url(database_url)
    databases = {service: f"e2e_{run}_{service}" for service in SERVICES}
    urls = {
        service: server.set(database=name).render_as_string(hide_password=False) for service, name in databases.items()
    }
    await _admin(database_url, [f'CREATE DATABASE "{name}"' for name in databases.values()])
    await hotline_system.ensure_topics(kafka_bootstrap)
    events = EventLog(kafka_bootstrap)
    await events.start()

    secret = secrets.token_urlsafe(48)
    api_key = new_api_key()
    epoch_real = datetime.now(UTC) + timedelta(seconds=STARTUP_SECONDS)
    env = _process_env(kafka_bootstrap, urls, folder, secret, api_key, epoch_real)
    supervisor = hotline_system.Supervisor(folder, env)
    _folders.append(folder)
    try:
        plan = hotline_system.plan()
        workers = [spec for spec in plan if spec.role != "api"]
        apis = [spec for spec in plan if spec.role == "api"]
        for group in (workers, apis):
            for spec in group:
                supervisor.start(spec)
            problems = await asyncio.to_thread(supervisor.wait_healthy, group, READY_TIMEOUT)
            assert not problems, "; ".join(problems) + "\n" + _log_tails(folder)
        await asyncio.to_thread(_seed_customers, env)
        clock = ScaledClock(SPEED, epoch_real, DAY_START)
        # callbacks may only be made from 08:00 (RULES.md §5): start the stories there
        early = (DAY_START - clock.now()).total_seconds()
        if early > 0:
            await asyncio.sleep(early / SPEED)
        hotline = System(
            urls={service: f"http://127.0.0.1:{API_PORTS[service]}" for service in SERVICES},
            secret=secret,
            api_key=api_key,
            clock=clock,
            events=events,
            folder=folder,
        )
        yield hotline
        await hotline.close_clients()
    finally:
        await asyncio.to_thread(supervisor.stop)
        _folders.remove(folder)
        await events.stop()
        await _admin(database_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in databases.values()])


# --------------------------------------------------------------------------- diagnosis


def _log_tails(folder: Path, lines: int = 40) -> str:
    parts = []
    for log in sorted((folder / "logs").glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"----- {log.name} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "\n".join(parts)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    if isinstance(report, pytest.TestReport) and report.failed and _folders:
        report.sections.append(("service process logs", _log_tails(_folders[-1])))
    return report
