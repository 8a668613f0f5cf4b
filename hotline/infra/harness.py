"""Bring the local servers up or down as one unit; an address given in the environment wins."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import structlog

from hotline.infra.kafka import KafkaServer
from hotline.infra.postgres import DEFAULT_DATABASE, PostgresServer
from hotline.infra.process import InfraError
from hotline.infra.settings import InfraSettings

log = structlog.get_logger(__name__)

KAFKA_ENV = "KAFKA_BOOTSTRAP"
DATABASE_ENV = "DATABASE_URL"

__all__ = [
    "DATABASE_ENV",
    "KAFKA_ENV",
    "Endpoints",
    "InfraError",
    "ensure_kafka",
    "ensure_postgres",
    "ensure_up",
    "infra_status",
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


def ensure_up(settings: InfraSettings | None = None, env: Mapping[str, str] | None = None) -> Endpoints:
    settings = settings or InfraSettings()
    env = os.environ if env is None else env
    bootstrap, kafka_started = ensure_kafka(settings, env)
    database_url, postgres_started = ensure_postgres(settings, env)
    started = tuple(name for name, did in (("kafka", kafka_started), ("postgres", postgres_started)) if did)
    external = tuple(name for name, var in (("kafka", KAFKA_ENV), ("postgres", DATABASE_ENV)) if env.get(var))
    return Endpoints(bootstrap, database_url, started, external)


def stop_all(settings: InfraSettings | None = None) -> list[str]:
    """Stop both local servers; the names of those that were running."""
    settings = settings or InfraSettings()
    stopped = []
    errors = []
    for name, server in (("kafka", KafkaServer(settings)), ("postgres", PostgresServer(settings))):
        try:
            if server.stop():
                stopped.append(name)
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
