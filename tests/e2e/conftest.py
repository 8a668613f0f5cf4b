"""The whole system as real processes for the end-to-end stories: databases, topics, one clock, tokens, events.

One `system` per test session: a fresh PostgreSQL database per service, topics, consumer groups, Faust app
ids and ports of its own (so a running `hotline up` or simulation on the same broker is neither read nor
fed), a JWT secret and an integration API key, a shared simulated clock (HOTLINE_CLOCK_*) that starts on a
plain working Monday at 08:00 in Nanning, and every process of `hotline up`'s plan started by a Supervisor.
The stories talk to the services only through their HTTP APIs and read the topics with `system.events`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import random
import secrets
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from hotline import system as hotline_system
from hotline.infra.topics import create_topics, delete_topics
from shared.auth.tokens import hash_api_key, new_api_key
from shared.branch_config import PACKAGED_DIR
from shared.clock import ScaledClock
from shared.events import Topic
from shared.runtime import SERVICES
from tests.e2e.harness import NANNING, EventLog, System

# A plain working Monday (no holiday, no branch override): 08:00 opens the callback day (RULES.md §5).
DAY_START = datetime(2026, 3, 9, 8, 0, tzinfo=NANNING)
# One real second is two simulated minutes: a 2-hour limit passes in a minute, a 5-minute one in 2.5 s,
# and the whole suite stays inside one callback day (08:00-21:00).
SPEED = 120.0
# The simulated day starts this many real seconds after launch (the processes take about that long).
STARTUP_SECONDS = 20.0
READY_TIMEOUT = 240.0

_folders: list[Path] = []  # the running system's folder, for the failure hook


# Below the kernel's ephemeral range (32768-60999): a port picked there by binding port 0 can be taken by any
# outgoing connection before the service binds it (a cold start's dispatch-api lost its port so, in CI).
_PORT_RANGE = (20000, 32000)
_PICK = random.Random()
_given: set[int] = set()  # never the same port twice in one run, even before the first one is bound


def _free_port() -> int:
    for _ in range(500):
        port = _PICK.randrange(*_PORT_RANGE)
        if port in _given:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {_PORT_RANGE}")


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


@dataclass(frozen=True)
class Names:
    """Topic names, consumer groups and Faust app ids of one run, so it shares the broker with any other system
    (a `hotline up`, a simulation, another test session) without ever reading or feeding it."""

    run: str

    def topic(self, topic: Topic | str) -> str:
        return f"e2e-{self.run}.{topic}"

    @property
    def prefix(self) -> str:
        return f"e2e-{self.run}"

    def env(self) -> dict[str, str]:
        tickets, sla, notices = self.topic(Topic.TICKETS), self.topic(Topic.SLA), self.topic(Topic.NOTIFICATIONS)
        return {
            "HOTLINE_INTAKE_TOPIC_TICKETS": tickets,
            "HOTLINE_INTAKE_TOPIC_SLA": sla,
            "HOTLINE_INTAKE_TOPIC_NOTIFICATIONS": notices,
            "HOTLINE_INTAKE_TOPIC_CTI_CALLS": self.topic(Topic.CTI_CALLS),
            "HOTLINE_INTAKE_GRADING_APP_ID": f"{self.prefix}-intake-grading",
            "HOTLINE_INTAKE_GRADING_SUBJECTS_TOPIC": self.topic("hotline.intake.complaint-subjects"),
            "HOTLINE_DISPATCH_CONSUMER_GROUP": f"{self.prefix}-dispatch",
            "HOTLINE_DISPATCH_TOPIC_TICKETS": tickets,
            "HOTLINE_DISPATCH_TOPIC_NOTIFICATIONS": notices,
            "HOTLINE_SLA_APP_ID": f"{self.prefix}-sla_monitor",
            "HOTLINE_SLA_TICKETS_TOPIC": tickets,
            "HOTLINE_SLA_SLA_TOPIC": sla,
            "HOTLINE_SLA_NOTIFICATIONS_TOPIC": notices,
            "HOTLINE_SLA_TICK_TOPIC": self.topic("hotline.sla.ticks"),
            "HOTLINE_CALLBACK_CONSUMER_GROUP": f"{self.prefix}-callback",
            "HOTLINE_CALLBACK_TICKETS_TOPIC": tickets,
            "HOTLINE_KNOWLEDGE_KNOWLEDGE_TOPIC": self.topic(Topic.KNOWLEDGE),
            # reporting and outbound on this system's topics and groups too: on the broker's shared topics and
            # groups, a cold start waited on every earlier system's events (outbound never got ready in 240 s)
            "HOTLINE_REPORTING_CONSUMER_GROUP": f"{self.prefix}-reporting",
            "HOTLINE_REPORTING_TICKETS_TOPIC": tickets,
            "HOTLINE_REPORTING_SLA_TOPIC": sla,
            "HOTLINE_REPORTING_REPORTING_TOPIC": self.topic(Topic.REPORTING),
            "HOTLINE_OUTBOUND_CONSUMER_GROUP": f"{self.prefix}-outbound",
            "HOTLINE_OUTBOUND_TOPIC_TICKETS": tickets,
        }


def _process_env(
    bootstrap: str,
    urls: dict[str, str],
    folder: Path,
    secret: str,
    api_key: str,
    epoch_real: datetime,
    intake_url: str,
    dispatch_url: str,
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
            "HOTLINE_CALLBACK_INTAKE_URL": intake_url,
            "HOTLINE_INTAKE_DISPATCH_URL": dispatch_url,
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


@dataclass
class Processes:
    """One Supervisor per process (each has its own ports in its environment); started and stopped together."""

    folder: Path
    env: dict[str, str]
    supervisors: dict[str, hotline_system.Supervisor] = field(default_factory=dict)

    def start(self, spec: hotline_system.ProcessSpec) -> None:
        own = dict(self.env)
        own["HOTLINE_WORKER_PORT" if spec.role == "worker" else "HOTLINE_API_PORT"] = str(spec.port)
        supervisor = hotline_system.Supervisor(self.folder, own)
        supervisor.start(spec)
        self.supervisors[spec.name] = supervisor

    def wait_healthy(self, specs: list[hotline_system.ProcessSpec]) -> list[str]:
        problems: list[str] = []
        for spec in specs:
            problems += self.supervisors[spec.name].wait_healthy([spec], READY_TIMEOUT)
        return problems

    def stop(self) -> None:
        # SIGTERM to all first, then wait: a slow one does not hold the others' grace period
        for supervisor in self.supervisors.values():
            for _, process in supervisor.children.values():
                if process.poll() is None:
                    process.terminate()
        for supervisor in self.supervisors.values():
            supervisor.stop()


async def _topics_of_run(bootstrap: str, prefix: str) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return [name for name in await admin.list_topics() if name.startswith(prefix)]
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def launch_system(
    kafka_bootstrap: str, database_url: str, folder: Path, *, day_start: bool = True
) -> AsyncIterator[System]:
    """The four services as real processes on their own databases, topics and ids, stopped whatever happens.

    With `day_start` the demo customers are imported and the stories begin at 08:00 simulated; without it
    the system is handed over as soon as every process says ready (a cold start, as `hotline up` makes one).
    """
    names = Names(uuid.uuid4().hex[:8])
    server = make_url(database_url)
    databases = {service: f"e2e_{names.run}_{service}" for service in SERVICES}
    urls = {
        service: server.set(database=name).render_as_string(hide_password=False) for service, name in databases.items()
    }
    specs = [
        hotline_system.ProcessSpec(spec.service, spec.role, _free_port()) for spec in hotline_system.plan(SERVICES)
    ]
    api_port = {spec.service: spec.port for spec in specs if spec.role in ("api", "all")}
    api_urls = {service: f"http://127.0.0.1:{port}" for service, port in api_port.items()}

    await _admin(database_url, [f'CREATE DATABASE "{name}"' for name in databases.values()])
    topics = [Topic.TICKETS, Topic.SLA, Topic.NOTIFICATIONS, Topic.CTI_CALLS, Topic.KNOWLEDGE, "hotline.sla.ticks"]
    await create_topics(kafka_bootstrap, {names.topic(t): hotline_system.TOPIC_PARTITIONS for t in topics})
    logged = (Topic.TICKETS, Topic.SLA, Topic.NOTIFICATIONS, Topic.KNOWLEDGE)
    events = EventLog(kafka_bootstrap, [names.topic(t) for t in logged])
    await events.start()

    secret = secrets.token_urlsafe(48)
    api_key = new_api_key()
    epoch_real = datetime.now(UTC) + timedelta(seconds=STARTUP_SECONDS if day_start else 0)
    env = _process_env(
        kafka_bootstrap, urls, folder, secret, api_key, epoch_real, api_urls["intake"], api_urls["dispatch"]
    )
    env.update(names.env())
    processes = Processes(folder, env)
    atexit.register(processes.stop)  # last resort if the session dies before its teardown
    _folders.append(folder)
    try:
        workers = [spec for spec in specs if spec.role != "api"]
        apis = [spec for spec in specs if spec.role == "api"]
        for group in (workers, apis):
            for spec in group:
                processes.start(spec)
            problems = await asyncio.to_thread(processes.wait_healthy, group)
            assert not problems, "; ".join(problems) + "\n" + _log_tails(folder)
        clock = ScaledClock(SPEED, epoch_real, DAY_START)
        if day_start:
            await asyncio.to_thread(_seed_customers, env)
            # callbacks may only be made from 08:00 (RULES.md §5): start the stories there
            early = (DAY_START - clock.now()).total_seconds()
            if early > 0:
                await asyncio.sleep(early / SPEED)
        hotline = System(
            urls=api_urls,
            secret=secret,
            api_key=api_key,
            clock=clock,
            events=events,
            folder=folder,
            processes={spec.name: spec.port for spec in specs},
        )
        yield hotline
        await hotline.close_clients()
    finally:
        await asyncio.to_thread(processes.stop)
        atexit.unregister(processes.stop)
        _folders.remove(folder)
        await events.stop()
        await _admin(database_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in databases.values()])
        await delete_topics(kafka_bootstrap, await _topics_of_run(kafka_bootstrap, names.prefix))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def system(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    """The four services as real processes on real Kafka and PostgreSQL, stopped at the end whatever happens."""
    async with launch_system(kafka_bootstrap, database_url, tmp_path_factory.mktemp("hotline-e2e")) as hotline:
        yield hotline


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


COLD_STARTS = "test_cold_start.py"
RUN_LAST = frozenset({"test_fuzz.py"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ten cold starts run before the stories: they take minutes of real time, and the stories' shared
    system, started at the first story, runs its simulated day SPEED times faster meanwhile (at 120x four
    minutes are eight hours), which pushed the stories after it into the night's quiet window (RULES.md §5)."""
    # the fault-injection run and the fuzz run start systems of their own and take minutes: last, after every
    # story, so the stories' shared simulated day does not run on meanwhile (issue 14)
    last = [item for item in items if item.path.name in RUN_LAST]
    items[:] = [item for item in items if item.path.name not in RUN_LAST] + last
    cold = [item for item in items if item.path.name == COLD_STARTS]
    if not cold:
        return
    rest = [item for item in items if item.path.name != COLD_STARTS]
    e2e = Path(__file__).parent
    first_story = next((n for n, item in enumerate(rest) if e2e in item.path.parents), len(rest))
    items[:] = [*rest[:first_story], *cold, *rest[first_story:]]
