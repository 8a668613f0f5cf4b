"""The whole system on one machine: topics, secrets, one process per service role, health and clean stop."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from shared import topics as shared_topics
from shared.events import Topic
from shared.runtime import API_PORTS, CONSOLE_PORT, SERVICES, WORKER_PORTS, default_state_dir
from shared.topics import TopicSpec

DEMO_BRANCH = "demo"
SECOND_BRANCH = "default"
TOPIC_PARTITIONS = 6


@dataclass(frozen=True)
class ProcessSpec:
    """One OS process of the system: a service in one role, with its health port."""

    service: str
    role: str
    port: int

    @property
    def name(self) -> str:
        return f"{self.service}-{self.role}"

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "hotline", "service", "run", self.service, "--role", self.role]

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health/ready"

    def runs_as(self, pid: int) -> bool:
        """True when `pid` is this process (its command line), not anything else that holds the port."""
        from hotline.infra.process import process_cmdline

        return f"service run {self.service} --role {self.role}" in process_cmdline(pid)


# The SLA monitor's timers live in its Faust worker's tables, so its read API is served by the worker
# process itself: one process in role `all`, on the API port.
SINGLE_PROCESS = frozenset({"sla_monitor"})


def plan(services: Sequence[str] = SERVICES) -> list[ProcessSpec]:
    """Workers first (they migrate each database), then the APIs."""
    workers = [
        ProcessSpec(s, "all", API_PORTS[s]) if s in SINGLE_PROCESS else ProcessSpec(s, "worker", WORKER_PORTS[s])
        for s in services
    ]
    apis = [ProcessSpec(s, "api", API_PORTS[s]) for s in services if s not in SINGLE_PROCESS]
    return workers + apis


def console_spec() -> ProcessSpec:
    """The web console, started after every API it calls is ready."""
    return ProcessSpec("console", "all", CONSOLE_PORT)


@dataclass
class SystemState:
    """What `hotline up` started, written so a second `hotline up` (or `hotline down`) can find it."""

    supervisor_pid: int
    started_at: str
    kafka_bootstrap: str
    database: str
    processes: dict[str, int] = field(default_factory=dict)
    infra_started: list[str] = field(default_factory=list)
    clock: dict[str, str] = field(default_factory=dict)  # the HOTLINE_CLOCK_* the processes share (clock_env)

    @classmethod
    def load(cls, path: Path) -> SystemState | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))


def system_dir() -> Path:
    return default_state_dir() / "system"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_system(path: Path | None = None) -> SystemState | None:
    """The state of a `hotline up` still running, or None (a stale file is ignored)."""
    state = SystemState.load(path or system_dir() / "up.json")
    if state is None:
        return None
    if alive(state.supervisor_pid) or any(alive(pid) for pid in state.processes.values()):
        return state
    return None


def busy_ports(ports: Sequence[int], host: str = "127.0.0.1") -> list[int]:
    """The ports some other process already listens on (a health check there would answer for it)."""
    import socket

    busy = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(port)
    return busy


def demo_secret(folder: Path) -> str:
    """The demo's JWT secret, made once and kept (mode 0600) so demo tokens survive a restart."""
    path = folder / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


async def ensure_topics(bootstrap: str, partitions: int = TOPIC_PARTITIONS) -> dict[str, int]:
    """Every product topic with `partitions` partitions (a topic auto-created smaller is grown)."""
    from services.sla_monitor.settings import MonitorSettings

    # the SLA monitor's tick topic must be co-partitioned with hotline.tickets
    names = [str(topic) for topic in Topic] + [MonitorSettings().tick_topic]
    return await shared_topics.ensure_topics(
        bootstrap, dict.fromkeys(names, TopicSpec(partitions, exact=False, grow=True)), ready_within=20.0
    )


@dataclass(frozen=True)
class Backoff:
    """Restart delays of a crashed process: 1 s, 2 s, 4 s … at most 30 s; forgiven after a minute up."""

    first: float = 1.0
    factor: float = 2.0
    most: float = 30.0
    stable_after: float = 60.0

    def delay(self, restarts: int) -> float:
        return float(min(self.most, self.first * self.factor**restarts))


class Supervisor:
    """Starts the processes in their own sessions, logs each to a file, restarts a crashed one, stops them all."""

    def __init__(
        self,
        folder: Path,
        env: Mapping[str, str],
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.logs = folder / "logs"
        self.env = dict(env)
        self.children: dict[str, tuple[ProcessSpec, subprocess.Popen[bytes]]] = {}
        self.backoff = backoff or Backoff()
        self.restarts: dict[str, int] = {}  # consecutive restarts, reset once a process stays up
        self._clock = clock
        self._started_at: dict[str, float] = {}
        self._restart_at: dict[str, float] = {}

    def start(self, spec: ProcessSpec) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{spec.name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, an argv list
            spec.argv(), env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children[spec.name] = (spec, process)
        self._started_at[spec.name] = self._clock()

    def supervise(self) -> list[str]:
        """One look at every process: a crashed one is restarted after its backoff. What happened, as lines."""
        now = self._clock()
        said: list[str] = []
        for name, (spec, process) in list(self.children.items()):
            if process.poll() is None:
                if now - self._started_at.get(name, now) >= self.backoff.stable_after:
                    self.restarts.pop(name, None)
                continue
            if name not in self._restart_at:
                delay = self.backoff.delay(self.restarts.get(name, 0))
                self._restart_at[name] = now + delay
                said.append(
                    f"{name} exited with status {process.returncode}; restarting in {delay:.0f} s "
                    f"(log: {self.log_path(name)})"
                )
            elif now >= self._restart_at[name]:
                del self._restart_at[name]
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.start(spec)
                said.append(f"{name} restarted (pid {self.children[name][1].pid}, restart {self.restarts[name]})")
        return said

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, (_, process) in self.children.items()}

    def wait_healthy(self, specs: Sequence[ProcessSpec], timeout: float) -> list[str]:
        """Names of processes not healthy within `timeout` seconds (empty when all are)."""
        deadline = time.monotonic() + timeout
        pending = {spec.name: spec for spec in specs}
        with httpx.Client(timeout=1.0) as client:
            while pending and time.monotonic() < deadline:
                for name, spec in list(pending.items()):
                    process = self.children[name][1]
                    if process.poll() is not None:
                        return [f"{name} exited with status {process.returncode} (log: {self.log_path(name)})"]
                    try:
                        if client.get(spec.health_url).status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                time.sleep(0.2)
        return [f"{name} not ready after {timeout:.0f} s (log: {self.log_path(name)})" for name in pending]

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def status(self) -> dict[str, str]:
        rows: dict[str, str] = {}
        with httpx.Client(timeout=0.5) as client:
            for name, (spec, process) in self.children.items():
                if process.poll() is not None:
                    due = self._restart_at.get(name)
                    wait = f", restarting in {max(0.0, due - self._clock()):.0f} s" if due is not None else ""
                    rows[name] = f"exited ({process.returncode}{wait})"
                    continue
                try:
                    rows[name] = "ready" if client.get(spec.health_url).status_code == 200 else "not ready"
                except httpx.HTTPError:
                    rows[name] = "starting"
        return rows

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM every process group, then SIGKILL what is left after `grace` seconds."""
        self._restart_at.clear()
        for _, process in self.children.values():
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, process in self.children.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def process_health(spec: ProcessSpec, pid: int | None, client: httpx.Client) -> str:
    """What `hotline status` says of one recorded process: its own pid first, then its health answer."""
    if pid is None or not alive(pid) or not spec.runs_as(pid):
        try:
            client.get(spec.health_url)
        except httpx.HTTPError:
            return "down"
        return f"down (port {spec.port} answered by another process)"
    try:
        return "ready" if client.get(spec.health_url).status_code == 200 else "not ready"
    except httpx.HTTPError:
        return "starting"


def stop_recorded(state: SystemState, grace: float = 15.0) -> None:
    """Stop the processes a (possibly dead) `hotline up` recorded."""
    for pid in state.processes.values():
        if alive(pid):
            _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(pid) for pid in state.processes.values()):
        time.sleep(0.2)
    for pid in state.processes.values():
        if alive(pid):
            _signal_group(pid, signal.SIGKILL)


def clock_env(speed: float, start: datetime | None) -> dict[str, str]:
    """HOTLINE_CLOCK_*: every process derives the same simulated time from these (demo only)."""
    if speed == 1.0 and start is None:
        return {}
    now = datetime.now(UTC)
    return {
        "HOTLINE_CLOCK_SPEED": str(speed),
        "HOTLINE_CLOCK_EPOCH_REAL": now.isoformat(),
        "HOTLINE_CLOCK_EPOCH_SIMULATED": (start or now).isoformat(),
    }
