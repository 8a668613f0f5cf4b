"""The system under fault injection: a private three-node Kafka cluster, a private PostgreSQL, a Kannel with its fake
SMSC (the customers' SMS), a webhook receiver, and every service with two workers and two API processes, each
process supervised (restarted with backoff when it dies).

Everything listens on free ports chosen here; nothing touches the shared development broker or database. The two
API processes of a service share one port (SO_REUSEPORT, `HOTLINE_HTTP_REUSE_PORT`): clients keep one URL per
service and the kernel sends new connections to whichever process lives. Each process also has a port of its own,
where its readiness is asked (`HOTLINE_HTTP_OWN_PORT` for an API, `HOTLINE_WORKER_PORT` for a worker).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from hotline import system as hotline_system
from hotline.chaos.outbound import WebhookReceiver
from hotline.infra.cluster import KafkaCluster, free_port
from hotline.infra.kannel import KannelProcess
from hotline.infra.postgres import PostgresServer
from hotline.infra.process import InfraError
from hotline.infra.settings import InfraSettings
from shared import topics as shared_topics
from shared.auth.tokens import hash_api_key, new_api_key
from shared.branch_config import PACKAGED_DIR
from shared.events import Topic
from shared.runtime import SERVICES
from shared.topics import TopicSpec

COPIES = 2  # workers and API processes per service
SMS_CLAIM_SECONDS = 30.0  # real seconds before a message left "sending" by a killed sender is tried again
TICK_TOPIC = "hotline.sla.ticks"
PRODUCT_TOPICS = [*(str(topic) for topic in Topic), TICK_TOPIC]


@dataclass(frozen=True)
class Proc:
    """One supervised process: a service in a role, copy 1 or 2, with the port its readiness is asked on."""

    spec: hotline_system.ProcessSpec  # its name is per service and role: the copy tells the two apart
    copy: int
    health_port: int
    shared_port: int | None = None  # an API's port shared with its twin

    @property
    def name(self) -> str:
        return f"{self.spec.service}-{self.spec.role}-{self.copy}"

    @property
    def kind(self) -> str:
        return "api" if self.spec.role == "api" else "worker"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/health/ready"


def plan_processes() -> list[Proc]:
    """Two workers (the SLA monitor: two `all` processes, its API lives in its worker) and two APIs per service."""
    procs: list[Proc] = []
    shared = {service: free_port() for service in SERVICES}
    for spec in hotline_system.plan(SERVICES):
        for copy in range(1, COPIES + 1):
            if spec.role == "worker":
                procs.append(Proc(hotline_system.ProcessSpec(spec.service, spec.role, 0), copy, free_port()))
            else:
                own = free_port()
                procs.append(
                    Proc(hotline_system.ProcessSpec(spec.service, spec.role, 0), copy, own, shared[spec.service])
                )
    return procs


@dataclass
class ChaosSystem:
    """Start, watch and stop the whole system under test; `folder` keeps its logs and data."""

    folder: Path
    speed: float
    epoch_real: datetime
    epoch_simulated: datetime
    procs: list[Proc] = field(default_factory=plan_processes)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    api_key: str = field(default_factory=new_api_key)
    dlr_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def __post_init__(self) -> None:
        self.cluster = KafkaCluster(self.folder / "kafka")
        self.postgres = PostgresServer(self.postgres_settings())
        self.kannel = KannelProcess(self.folder / "kannel")
        self.webhooks = WebhookReceiver()
        self.supervisors: dict[str, hotline_system.Supervisor] = {}
        self.env: dict[str, str] = {}

    def postgres_settings(self) -> InfraSettings:
        # as root the server runs as `postgres`, which cannot enter a home folder: its files go under /var/lib
        own = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:12]
        root = Path("/var/lib/hotline/chaos") / own if os.geteuid() == 0 else self.folder / "postgres"
        return InfraSettings(
            infra_state_dir=self.folder / "pg-state", postgres_port=free_port(), postgres_dir=root / "postgres"
        )

    # ------------------------------------------------------------------ where

    def url(self, service: str) -> str:
        port = next(p.shared_port for p in self.procs if p.spec.service == service and p.shared_port)
        return f"http://127.0.0.1:{port}"

    def urls(self) -> dict[str, str]:
        return {service: self.url(service) for service in SERVICES}

    def database_url(self, service: str) -> str:
        return self.postgres.url(service)

    # ------------------------------------------------------------------ start

    def start_servers(self) -> None:
        self.cluster.start()
        self.postgres.start()
        self.kannel.start()
        self.webhooks.start()
        asyncio.run(self._topics())

    async def _topics(self) -> None:
        specs = dict.fromkeys(PRODUCT_TOPICS, TopicSpec(hotline_system.TOPIC_PARTITIONS, exact=False, grow=True))
        await shared_topics.ensure_topics(self.cluster.bootstrap, specs, replication_factor=3, ready_within=60.0)

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_") and k != "DATABASE_URL"}
        env.update(
            {
                "KAFKA_BOOTSTRAP": self.cluster.bootstrap,
                "HOTLINE_JWT_SECRET": self.secret,
                "HOTLINE_API_KEYS": json.dumps(
                    [{"name": "callback-service", "branch": "demo", "sha256": hash_api_key(self.api_key)}]
                ),
                "HOTLINE_CALLBACK_INTAKE_API_KEY": self.api_key,
                "HOTLINE_CALLBACK_INTAKE_URL": self.url("intake"),
                "HOTLINE_INTAKE_DISPATCH_URL": self.url("dispatch"),
                "HOTLINE_LOG_JSON": "true",
                "HOTLINE_CLOCK_SPEED": str(self.speed),
                "HOTLINE_CLOCK_EPOCH_REAL": self.epoch_real.isoformat(),
                "HOTLINE_CLOCK_EPOCH_SIMULATED": self.epoch_simulated.isoformat(),
                # the stream processors' own topics replicated like the product's; a warm standby on the twin
                "HOTLINE_SLA_REPLICATION_FACTOR": "3",
                "HOTLINE_SLA_STANDBY_REPLICAS": "1",
                "HOTLINE_INTAKE_GRADING_REPLICATION_FACTOR": "3",
                # the customers' SMS through Kannel (its delivery reports to outbound's API); the queue's claim
                # timeout is on the simulated clock: scaled so that a killed sender's message waits 30 real seconds
                "HOTLINE_SMS_KANNEL_URL": self.kannel.sendsms_url,
                "HOTLINE_SMS_KANNEL_USERNAME": self.kannel.username,
                "HOTLINE_SMS_KANNEL_PASSWORD": self.kannel.password,
                "HOTLINE_SMS_DLR_URL": f"{self.url('outbound')}/sms/dlr",
                "HOTLINE_SMS_DLR_SECRET": self.dlr_secret,
                "HOTLINE_SMS_CLAIM_TIMEOUT": str(SMS_CLAIM_SECONDS * self.speed),
                "HOTLINE_OUTBOUND_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver listens on the loopback
                "PYTHONUNBUFFERED": "1",
            }
        )
        for service in SERVICES:
            env[f"HOTLINE_{service.upper()}_DATABASE_URL"] = self.database_url(service)
        return env

    def proc_env(self, proc: Proc) -> dict[str, str]:
        env = dict(self.env)
        env["HOTLINE_STATE_DIR"] = str(self.folder / "state" / proc.name)
        if proc.shared_port is None:
            env["HOTLINE_WORKER_PORT"] = str(proc.health_port)
        else:
            env.update(
                {
                    "HOTLINE_API_PORT": str(proc.shared_port),
                    "HOTLINE_HTTP_REUSE_PORT": "true",
                    "HOTLINE_HTTP_OWN_PORT": str(proc.health_port),
                }
            )
        return env

    def start_processes(self, timeout: float) -> None:
        """Workers first (they migrate the databases), then the APIs; raises InfraError if one is not ready."""
        self.env = self.base_env()
        logs = self.folder / "logs"
        for group in ("worker", "api"):
            members = [p for p in self.procs if p.kind == group]
            for proc in members:
                supervisor = hotline_system.Supervisor(logs / proc.name, self.proc_env(proc))
                supervisor.start(proc.spec)
                self.supervisors[proc.name] = supervisor
            late = self.wait_ready(members, timeout)
            if late:
                why = "; ".join(self.why_not_ready(p) for p in members if p.name in late)
                raise InfraError(f"not ready within {timeout:.0f} s: {why} (logs in {logs})")

    def seed_customers(self) -> None:
        csv = PACKAGED_DIR / "demo" / "customers.csv"
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, an argv list
            [sys.executable, "-m", "hotline", "customers", "import", str(csv), "--branch", "demo"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=180,
        )
        if done.returncode != 0:
            raise InfraError(f"demo customers not imported: {done.stdout[-500:]} {done.stderr[-500:]}")

    # ------------------------------------------------------------------ watch

    def supervise(self) -> list[str]:
        """One look at every process (a dead one is restarted after its backoff); what happened."""
        said: list[str] = []
        for supervisor in self.supervisors.values():
            said += supervisor.supervise()
        return said

    def pid(self, proc: Proc) -> int | None:
        supervisor = self.supervisors.get(proc.name)
        if supervisor is None or proc.spec.name not in supervisor.children:
            return None
        process = supervisor.children[proc.spec.name][1]
        return process.pid if process.poll() is None else None

    def not_ready(self, procs: list[Proc] | None = None) -> list[str]:
        """Names of the processes that do not answer ready on their own port now."""
        late: list[str] = []
        with httpx.Client(timeout=2.0) as client:
            for proc in procs if procs is not None else self.procs:
                try:
                    if client.get(proc.health_url).status_code != 200:
                        late.append(proc.name)
                except httpx.HTTPError:
                    late.append(proc.name)
        return late

    def why_not_ready(self, proc: Proc) -> str:
        """The failing checks of a process's readiness answer (or why it gave none)."""
        try:
            answer = httpx.get(proc.health_url, timeout=2.0)
        except httpx.HTTPError as error:
            return f"{proc.name}: {type(error).__name__}"
        try:
            checks = answer.json().get("checks", {})
        except ValueError:
            return f"{proc.name}: HTTP {answer.status_code}"
        failing = [name for name, state in checks.items() if state != "ok"]
        return f"{proc.name}: HTTP {answer.status_code} {', '.join(failing)}"

    def wait_ready(self, procs: list[Proc], timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        late = self.not_ready(procs)
        while late and time.monotonic() < deadline:
            self.supervise()
            time.sleep(0.5)
            late = self.not_ready([p for p in procs if p.name in late])
        return late

    # ------------------------------------------------------------------ stop

    def stop(self) -> None:
        for supervisor in self.supervisors.values():
            for _, process in supervisor.children.values():
                if process.poll() is None:
                    process.terminate()
        for supervisor in self.supervisors.values():
            supervisor.stop(grace=10.0)
        self.cluster.stop()
        self.kannel.stop()
        self.webhooks.stop()
        try:
            self.postgres.stop()
        except InfraError:
            pass
        if os.geteuid() == 0:  # the server's files outside the run's folder: a throw-away database
            shutil.rmtree(self.postgres.settings.postgres_data_root.parent, ignore_errors=True)


def simulated_start(now: datetime, startup: timedelta) -> datetime:
    """The simulated clock's epoch: the traffic's day begins when the processes are expected to be up."""
    return now + startup
