"""Bring the local servers up or down as one unit; an address given in the environment wins."""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import structlog

from hotline.infra.kafka import KafkaServer
from hotline.infra.postgres import DEFAULT_DATABASE, TEST_DATABASE, PostgresServer
from hotline.infra.process import InfraError
from hotline.infra.settings import InfraSettings

log = structlog.get_logger(__name__)

KAFKA_ENV = "KAFKA_BOOTSTRAP"
DATABASE_ENV = "DATABASE_URL"

ServerName = Literal["kafka", "postgres"]

__all__ = [
    "DATABASE_ENV",
    "KAFKA_ENV",
    "Endpoints",
    "InfraError",
    "ensure_kafka",
    "ensure_postgres",
    "ensure_up",
    "infra_status",
    "server_for_session",
    "stop_all",
]


@dataclass(frozen=True)
class Endpoints:
    """Where the servers are, and which of them this call started (and so may stop)."""

    kafka_bootstrap: str
    database_url: str
    started: tuple[str, ...] = field(default=())
    external: tuple[str, ...] = field(default=())

    def as_env_lines(self) -> list[str]:
        return [f"{KAFKA_ENV}={self.kafka_bootstrap}", f"{DATABASE_ENV}={self.database_url}"]


@contextlib.contextmanager
def _start_lock(settings: InfraSettings) -> Iterator[None]:
    """One starter at a time (two test sessions, or `up` beside a test run)."""
    settings.infra_state_dir.mkdir(parents=True, exist_ok=True)
    with (settings.infra_state_dir / "start.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_kafka(settings: InfraSettings, env: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """(bootstrap address, started now?); KAFKA_BOOTSTRAP in the environment is used as is."""
    given = (os.environ if env is None else env).get(KAFKA_ENV)
    if given:
        return given, False
    server = KafkaServer(settings)
    with _start_lock(settings):
        started = server.start()
    return server.bootstrap, started


def ensure_postgres(
    settings: InfraSettings,
    env: Mapping[str, str] | None = None,
    database: str = DEFAULT_DATABASE,
) -> tuple[str, bool]:
    """(SQLAlchemy async URL, started now?); DATABASE_URL in the environment is used as is."""
    given = (os.environ if env is None else env).get(DATABASE_ENV)
    if given:
        return given, False
    server = PostgresServer(settings)
    with _start_lock(settings):
        started = server.start()
    return server.url(database), started


def _auto_stop_marker(settings: InfraSettings, name: ServerName) -> Path:
    """Present while a server runs that a test session (not `hotline infra up`) started."""
    return settings.infra_state_dir / f"{name}.started-for-a-session"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def server_for_session(
    name: ServerName,
    settings: InfraSettings,
    env: Mapping[str, str] | None = None,
    database: str = TEST_DATABASE,
) -> Iterator[str]:
    """The address of a server for one test session (or benchmark run).

    The environment's address wins and nothing is started. Otherwise the local server is started or
    reused, and this process holds a lease on it until the block ends. At the end the server is
    stopped only if a session started it (not `hotline infra up`) and no other live session holds a
    lease: a developer's running servers are reused and left running, and two concurrent test
    sessions do not pull the server from under each other.
    """
    env = os.environ if env is None else env
    given = env.get(KAFKA_ENV if name == "kafka" else DATABASE_ENV)
    if given:
        yield given
        return
    server: KafkaServer | PostgresServer = KafkaServer(settings) if name == "kafka" else PostgresServer(settings)
    leases = settings.infra_state_dir / "leases"
    lease = leases / f"{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    marker = _auto_stop_marker(settings, name)
    with _start_lock(settings):
        if server.start():
            marker.touch()
        leases.mkdir(parents=True, exist_ok=True)
        lease.touch()
    address = server.bootstrap if isinstance(server, KafkaServer) else server.url(database)
    try:
        yield address
    finally:
        with _start_lock(settings):
            lease.unlink(missing_ok=True)
            others = []
            for held in leases.glob(f"{name}.*"):
                pid = held.name.split(".")[1]
                if pid.isdigit() and _pid_alive(int(pid)):
                    others.append(held)
                else:
                    held.unlink(missing_ok=True)  # left by a session that died
            if marker.exists() and not others:
                server.stop()
                marker.unlink(missing_ok=True)


def ensure_up(settings: InfraSettings | None = None, env: Mapping[str, str] | None = None) -> Endpoints:
    settings = settings or InfraSettings()
    env = os.environ if env is None else env
    bootstrap, kafka_started = ensure_kafka(settings, env)
    database_url, postgres_started = ensure_postgres(settings, env)
    for name in ("kafka", "postgres"):
        # `up` claims the servers for the developer: no test session's end stops them now.
        _auto_stop_marker(settings, name).unlink(missing_ok=True)
    started = tuple(name for name, did in (("kafka", kafka_started), ("postgres", postgres_started)) if did)
    external = tuple(name for name, var in (("kafka", KAFKA_ENV), ("postgres", DATABASE_ENV)) if env.get(var))
    return Endpoints(bootstrap, database_url, started, external)


def stop_all(settings: InfraSettings | None = None) -> list[str]:
    """Stop both local servers; the names of those that were running."""
    settings = settings or InfraSettings()
    stopped: list[str] = []
    errors = []
    servers: tuple[tuple[ServerName, KafkaServer | PostgresServer], ...] = (
        ("kafka", KafkaServer(settings)),
        ("postgres", PostgresServer(settings)),
    )
    for name, server in servers:
        try:
            if server.stop():
                stopped.append(name)
            _auto_stop_marker(settings, name).unlink(missing_ok=True)
        except InfraError as error:
            errors.append(f"{name}: {error}")
    if errors:
        raise InfraError("; ".join(errors))
    return stopped


@dataclass(frozen=True)
class ServerRow:
    name: str
    state: str
    address: str
    pid: int | None
    detail: str


def infra_status(settings: InfraSettings | None = None, env: Mapping[str, str] | None = None) -> list[ServerRow]:
    settings = settings or InfraSettings()
    env = os.environ if env is None else env
    kafka = KafkaServer(settings).status()
    postgres = PostgresServer(settings).status()
    rows = [
        ServerRow(
            "kafka",
            "running" if kafka.running else "stopped",
            kafka.bootstrap,
            kafka.pid,
            f"Apache Kafka {kafka.version} (KRaft); log {kafka.log_file}",
        ),
        ServerRow(
            "postgres",
            "running" if postgres.running else "stopped",
            postgres.address,
            postgres.pid,
            f"databases {', '.join(postgres.databases)}; log {postgres.log_file}",
        ),
    ]
    if env.get(KAFKA_ENV):
        rows.append(ServerRow("kafka", "external", env[KAFKA_ENV], None, f"from ${KAFKA_ENV}: not managed"))
    if env.get(DATABASE_ENV):
        shown = _hide_password(env[DATABASE_ENV])
        rows.append(ServerRow("postgres", "external", shown, None, f"from ${DATABASE_ENV}: not managed"))
    return rows


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"
