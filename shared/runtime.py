"""How a service process runs: its settings, its database URL, and the API / worker process loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from shared.clock import Clock, clock_from_settings
from shared.logs import configure_logging

log = structlog.get_logger(__name__)

SERVICES = ("intake", "dispatch", "sla_monitor", "callback", "identity", "knowledge", "reporting", "outbound")
# API ports 8101-8108, worker health/metrics ports 8111-8118 (overridable per process).
API_PORTS = {name: 8101 + i for i, name in enumerate(SERVICES)}
WORKER_PORTS = {name: 8111 + i for i, name in enumerate(SERVICES)}
# the port plan gives knowledge 8106/8116 whatever its place in SERVICES (identity has 8105/8115)
API_PORTS["knowledge"], WORKER_PORTS["knowledge"] = 8106, 8116
API_PORTS["reporting"], WORKER_PORTS["reporting"] = 8107, 8117
API_PORTS["outbound"], WORKER_PORTS["outbound"] = 8108, 8118  # customer SMS notices (issue 21)
# the web console (services/console) is one process (pages, event streams and their consumer) on its own port
CONSOLE_PORT = 8100


class Role(StrEnum):
    API = "api"  # the service's HTTP API (any number of instances)
    WORKER = "worker"  # its Kafka consumers and outbox relay (one per partition at most)
    ALL = "all"  # both in one process (the single-machine default)


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME")
    return (Path(base) if base else Path.home() / ".local" / "state") / "hotline"


class ServiceSettings(BaseSettings):
    """Settings every service shares; environment variables HOTLINE_<FIELD> (and the two bare infra names)."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    branch: str = "default"
    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092", validation_alias=AliasChoices("HOTLINE_KAFKA_BOOTSTRAP", "KAFKA_BOOTSTRAP")
    )
    # a server URL (postgresql+asyncpg://.../any): each service uses the database named after it
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("HOTLINE_DATABASE_URL", "DATABASE_URL")
    )
    state_dir: Path = Field(default_factory=default_state_dir)
    http_host: str = "127.0.0.1"
    api_port: int | None = None
    worker_port: int | None = None
    log_level: str = "INFO"
    log_json: bool = True
    # demo and simulation only: run the policy clocks faster (never set in production)
    clock_speed: float = Field(default=1.0, gt=0)
    clock_epoch_real: str | None = None
    clock_epoch_simulated: str | None = None
    # the outbox relay runs in the worker; with PostgreSQL, API processes may run one too
    relay_in_api: bool = False
    partitions: int = Field(default=6, ge=1)
    # several API processes of one service on one port (SO_REUSEPORT: the kernel spreads the connections, and
    # takes a killed one out at once); each then also listens on its own port, for its own health and metrics
    http_reuse_port: bool = False
    http_own_port: int | None = None

    def database_url_for(self, service: str, env: Mapping[str, str] | None = None) -> str:
        """HOTLINE_<SERVICE>_DATABASE_URL, else the server URL with the service's database, else SQLite."""
        env = os.environ if env is None else env
        own = env.get(f"HOTLINE_{service.upper()}_DATABASE_URL")
        if own:
            return own
        if self.database_url:
            url = make_url(self.database_url)
            if url.get_backend_name() == "sqlite":
                return self.database_url
            return url.set(database=service).render_as_string(hide_password=False)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{self.state_dir / f'{service}.db'}"

    def port_for(self, service: str, role: Role) -> int:
        if role is Role.WORKER:
            return self.worker_port or WORKER_PORTS[service]
        return self.api_port or API_PORTS[service]

    def clock(self) -> Clock:
        return clock_from_settings(self.clock_speed, self.clock_epoch_real, self.clock_epoch_simulated)


Task = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def serve(
    service: str,
    app: FastAPI,
    host: str,
    port: int,
    tasks: Sequence[Task] = (),
    *,
    on_stop: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve `app` and run the background `tasks` until SIGTERM/SIGINT, then stop them cleanly."""
    import uvicorn

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    sockets = listening_sockets(host, port, ServiceSettings())
    running: list[asyncio.Task[None]] = [
        asyncio.create_task(task(stop), name=f"{service}-task-{i}") for i, task in enumerate(tasks)
    ]
    web = asyncio.create_task(server.serve(sockets), name=f"{service}-http")
    log.info("service_started", service=service, port=port, tasks=len(running))
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([waiter, web, *running], return_when=asyncio.FIRST_COMPLETED)
    for finished in done:
        if finished is not waiter and finished.exception() is not None:
            log.error(
                "service_task_failed", service=service, task=finished.get_name(), error=repr(finished.exception())
            )
    stop.set()
    server.should_exit = True
    await asyncio.gather(web, *running, return_exceptions=True)
    if on_stop is not None:
        await on_stop()
    log.info("service_stopped", service=service)
    failed = [t for t in done if t is not waiter and t.exception() is not None]
    if failed:
        raise SystemExit(1)


def listening_sockets(host: str, port: int, settings: ServiceSettings) -> list[socket.socket] | None:
    """None (uvicorn binds `port` itself), or the shared port bound with SO_REUSEPORT plus the process's own."""
    if not settings.http_reuse_port:
        return None

    def bind(at: int, reuse_port: bool) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, at))
        sock.listen(2048)
        sock.set_inheritable(True)
        return sock

    sockets = [bind(port, True)]
    if settings.http_own_port is not None:
        sockets.append(bind(settings.http_own_port, False))
    return sockets


def run_copies(copies: int, run: Callable[[], None]) -> None:
    """Run `run()` in `copies` forked processes that share the API port (SO_REUSEPORT: the kernel spreads the
    connections); this process only waits. When one copy ends, the others are stopped and this process exits with
    its status, so whoever supervises it restarts the whole group; SIGTERM/SIGINT are passed on to every copy."""
    if copies <= 1:
        run()
        return
    os.environ["HOTLINE_HTTP_REUSE_PORT"] = "true"  # read by each copy's own ServiceSettings
    children: list[int] = []
    for _ in range(copies):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the copy's own process
            _end_with_parent()
            code = 0
            try:
                run()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            except BaseException:
                log.exception("api_copy_failed")
                code = 1
            os._exit(code)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    first, status = os.wait()
    log.info("api_copy_ended", pid=first, status=os.waitstatus_to_exitcode(status), copies=copies)
    forward(signal.SIGTERM, None)
    for child in children:
        if child != first:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child, 0)
    raise SystemExit(os.waitstatus_to_exitcode(status))


def _end_with_parent() -> None:
    """Linux: this process gets SIGTERM when its parent dies (a kill -9 of the group's parent leaves no copy behind)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_logging(service: str, settings: ServiceSettings, role: str = "all") -> None:
    configure_logging(service, settings.log_level, json=settings.log_json, role=role)
