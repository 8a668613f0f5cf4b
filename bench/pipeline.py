"""The pipeline benchmark: TicketReceived → dispatch worker → TicketDispatched → SLA monitor timers, on real servers.

    python -m bench.pipeline                                  # paced 1000/s for 15 s, then a burst of 10,000
    python -m bench.pipeline --rate 500 --seconds 10 --burst 3000 --dispatch-workers 2

The real dispatch worker (`services.dispatch.main`, role worker: consumer, PostgreSQL, outbox relay) and
the real SLA monitor worker (`services.sla_monitor.main`, Faust with RocksDB tables) run as their own
processes on fresh topics and a fresh dispatch database. This process plays intake: it puts repair
tickets on the tickets topic and watches (a) the tickets topic for each ticket's TicketDispatched and
(b) the SLA monitor's timer-table changelog for the moment the ticket's unit clocks started (which
needs the TicketDispatched). Latency per ticket is measured from the send of its TicketReceived.

Phases: `paced` sends at a fixed rate (latency under a sustained load: does the pipeline keep up?),
`burst` sends everything at once (the most it can drain: dispatched/s from first send to last dispatch).
Every wait is bounded; only loopback traffic. Prints one JSON document on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from shared.events import CustomerDetails, Location, TicketReceived, encode, message_key, new_event
from shared.policy.categories import Category

ROOT = Path(__file__).resolve().parents[1]
DISTRICTS = ("North-1", "North-2", "South")  # routed by the default branch's org file
SECRET = "bench-pipeline-" + uuid.uuid4().hex  # health endpoints only; lives as long as this run
DISPATCHED_MARK = b'"type":"TicketDispatched"'
UNIT_CLOCKS_MARK = b'"resolve"'  # a repair's resolve clock starts when the SLA monitor sees the dispatch


def log(message: str) -> None:
    sys.stderr.write(f"[pipeline] {message}\n")
    sys.stderr.flush()


def percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def admin_sql(server_url: str, statement: str) -> None:
    url = make_url(server_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@dataclass
class ServiceProcess:
    """One service process (`services.<name>.main`, a role) with its own log file and health port."""

    name: str
    role: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(self.env, HOTLINE_WORKER_PORT=str(self.port), HOTLINE_API_PORT=str(self.port))
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", f"from services.{self.name}.main import main; main({self.role!r})"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def wait_ready(self, within: float = 120.0) -> None:
        url = f"http://127.0.0.1:{self.port}/health/ready"
        end = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < end:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
                try:
                    if (await client.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.5)
        raise RuntimeError(f"{self.name} not ready within {within} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ticket_received(i: int, run: str) -> tuple[str, bytes, bytes]:
    """(ticket id, key, value) of one repair ticket routed by district (pre-encoded: sending stays cheap)."""
    now = datetime.now(UTC)
    payload = TicketReceived(
        ticket_number=f"BENCH-{run}-{i:07d}",
        channel="phone",
        category=Category.REPAIR,
        received_at=now,
        description="燃气灶打不着火",
        customer=CustomerDetails(name="bench", phone="13800000000", address="bench road 1"),
        location=Location(district=DISTRICTS[i % len(DISTRICTS)]),
    )
    ticket_id = str(uuid.uuid4())
    event = new_event(
        payload, ticket_id=ticket_id, branch="default", producer="bench", correlation_id=run, occurred_at=now
    )
    return ticket_id, message_key(event), encode(event)


class Watcher:
    """Watches the tickets topic for TicketDispatched and the timer changelog for started unit clocks."""

    def __init__(self, bootstrap: str, tickets_topic: str, changelog_topic: str) -> None:
        self.sent: dict[bytes, float] = {}
        self.dispatched: dict[bytes, float] = {}
        self.timed: dict[bytes, float] = {}
        self._consumers = {
            "dispatched": AIOKafkaConsumer(
                tickets_topic, bootstrap_servers=bootstrap, auto_offset_reset="latest", max_poll_records=5000
            ),
            "timed": AIOKafkaConsumer(
                changelog_topic, bootstrap_servers=bootstrap, auto_offset_reset="latest", max_poll_records=5000
            ),
        }
        self._tasks: list[asyncio.Task[None]] = []
        self.pids: dict[str, int | None] = {"bench": os.getpid()}  # processes whose CPU time each phase reports

    async def start(self, bootstrap: str, changelog_topic: str, within: float = 60.0) -> None:
        # Faust creates its changelog topics after the worker reports ready: subscribe once it exists
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            end = time.monotonic() + within
            while changelog_topic not in await admin.list_topics():
                if time.monotonic() > end:
                    raise RuntimeError(f"{changelog_topic} did not appear within {within} s")
                await asyncio.sleep(0.5)
        finally:
            await admin.close()
        for consumer in self._consumers.values():
            await consumer.start()
            await consumer.seek_to_end()
        self._tasks = [
            asyncio.create_task(self._watch(self._consumers["dispatched"], DISPATCHED_MARK, self.dispatched)),
            asyncio.create_task(self._watch(self._consumers["timed"], UNIT_CLOCKS_MARK, self.timed)),
        ]

    async def _watch(self, consumer: AIOKafkaConsumer, mark: bytes, seen: dict[bytes, float]) -> None:
        # no JSON decoding here: the key is the ticket id, a byte search finds the event type
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    key = record.key or b""
                    if key in self.sent and key not in seen and mark in (record.value or b""):
                        seen[key] = now

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for consumer in self._consumers.values():
            await consumer.stop()


def latency_summary(sent: dict[bytes, float], seen: dict[bytes, float], keys: list[bytes]) -> dict[str, Any]:
    ms = sorted((seen[k] - sent[k]) * 1000 for k in keys if k in seen)

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "count": len(ms),
        "p50_ms": r(percentile(ms, 0.50)),
        "p99_ms": r(percentile(ms, 0.99)),
        "max_ms": r(ms[-1] if ms else None),
    }


async def run_phase(
    producer: AIOKafkaProducer,
    watcher: Watcher,
    topic: str,
    tickets: list[tuple[str, bytes, bytes]],
    rate: float | None,
    time_limit: float,
) -> dict[str, Any]:
    """Send the tickets (at `rate`/s, or flat out) and wait until each is dispatched and timed (bounded)."""
    keys = [key for _, key, _ in tickets]
    cpu_before = {name: cpu_seconds(pid) for name, pid in watcher.pids.items()}
    began = time.perf_counter()
    pending = []
    for i, (_, key, value) in enumerate(tickets):
        if rate:
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        watcher.sent[key] = time.perf_counter()
        pending.append(await producer.send(topic, value, key=key))
        if len(pending) >= 2000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    sent_s = time.perf_counter() - began
    deadline = began + time_limit
    while time.perf_counter() < deadline:
        if all(k in watcher.timed for k in keys) and all(k in watcher.dispatched for k in keys):
            break
        await asyncio.sleep(0.05)
    dispatched = [watcher.dispatched[k] for k in keys if k in watcher.dispatched]
    timed = [watcher.timed[k] for k in keys if k in watcher.timed]
    drain_dispatch = (max(dispatched) - began) if dispatched else None
    drain_timed = (max(timed) - began) if timed else None
    cpu = {name: round(cpu_seconds(pid) - cpu_before[name], 2) for name, pid in watcher.pids.items()}
    return {
        "tickets": len(tickets),
        "rate_per_s": rate or "flat out",
        "send_seconds": round(sent_s, 2),
        "sent_per_s": round(len(tickets) / sent_s, 1) if sent_s else None,
        "dispatched": len(dispatched),
        "timers_started": len(timed),
        "dispatched_per_s": round(len(dispatched) / drain_dispatch, 1) if drain_dispatch else None,
        "timed_per_s": round(len(timed) / drain_timed, 1) if drain_timed else None,
        "received_to_dispatched": latency_summary(watcher.sent, watcher.dispatched, keys),
        "received_to_timers_started": latency_summary(watcher.sent, watcher.timed, keys),
        "complete": len(dispatched) == len(tickets) and len(timed) == len(tickets),
        "cpu_seconds": cpu,
        "cpu_ms_per_ticket": {name: round(1000 * used / len(tickets), 3) for name, used in cpu.items()},
    }


async def _delete_topics_with_prefixes(bootstrap: str, names: list[str], prefixes: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = await admin.list_topics()
        doomed = [t for t in present if t in names or any(t.startswith(p) for p in prefixes)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def broker_pid() -> int | None:
    """The local broker's process (its CPU time is part of the pipeline's cost), when this machine runs it."""
    try:
        from hotline.infra.kafka import KafkaServer
        from hotline.infra.settings import InfraSettings

        pid = KafkaServer(InfraSettings()).pid()
        return int(pid) if pid else None
    except Exception:
        return None


def service_env(bootstrap: str, state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(
        PYTHONPATH=str(ROOT),
        KAFKA_BOOTSTRAP=bootstrap,
        HOTLINE_KAFKA_BOOTSTRAP=bootstrap,
        HOTLINE_JWT_SECRET=SECRET,
        HOTLINE_LOG_LEVEL="WARNING",
        HOTLINE_STATE_DIR=str(state_dir),
    )
    return env


async def measure_pipeline(
    bootstrap: str,
    server_url: str,
    *,
    rate: float = 1000.0,
    seconds: float = 15.0,
    burst: int = 10_000,
    partitions: int = 6,
    dispatch_workers: int = 1,
    time_limit: float = 120.0,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    """Run both phases against fresh topics and a fresh dispatch database; everything is removed afterwards."""
    from hotline.infra.topics import create_topics, unique_topic_name

    run = uuid.uuid4().hex[:8]
    database = f"bench_pipeline_{run}"
    tickets_topic = unique_topic_name("bench-pipeline-tickets")
    topics = {
        tickets_topic: partitions,
        f"{tickets_topic}.notices": 1,
        f"{tickets_topic}.sla": partitions,
        f"{tickets_topic}.sla.notices": 1,
        f"{tickets_topic}.ticks": partitions,
    }
    sla_app = f"bench-pipeline-sla-{run}"
    scratch = Path(tempfile.mkdtemp(prefix="hotline-bench-pipeline-"))
    await admin_sql(server_url, f'CREATE DATABASE "{database}"')
    await create_topics(bootstrap, topics)
    base = service_env(bootstrap, scratch)
    dispatch_env = dict(
        base,
        HOTLINE_DISPATCH_DATABASE_URL=make_url(server_url).set(database=database).render_as_string(False),
        HOTLINE_DISPATCH_TOPIC_TICKETS=tickets_topic,
        HOTLINE_DISPATCH_TOPIC_NOTIFICATIONS=f"{tickets_topic}.notices",
        HOTLINE_DISPATCH_CONSUMER_GROUP=f"bench-dispatch-{run}",
        HOTLINE_DISPATCH_ATTACHMENTS_DIR=str(scratch / "attachments"),
        HOTLINE_PARTITIONS=str(partitions),
    )
    sla_env = dict(
        base,
        HOTLINE_SLA_TICKETS_TOPIC=tickets_topic,
        HOTLINE_SLA_SLA_TOPIC=f"{tickets_topic}.sla",
        HOTLINE_SLA_NOTIFICATIONS_TOPIC=f"{tickets_topic}.sla.notices",
        HOTLINE_SLA_TICK_TOPIC=f"{tickets_topic}.ticks",
        HOTLINE_SLA_APP_ID=sla_app,
        HOTLINE_SLA_SESSION_TIMEOUT="6",
        HOTLINE_STATE_DIR=str(scratch / "sla"),
    )
    processes = [
        ServiceProcess("dispatch", "worker", dispatch_env, scratch / f"dispatch-{i}.log")
        for i in range(dispatch_workers)
    ]
    processes.append(ServiceProcess("sla_monitor", "worker", sla_env, scratch / "sla_monitor.log"))
    profilers: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {}
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id="bench-intake", enable_idempotence=True, acks="all", linger_ms=5
    )
    changelog = f"{sla_app}-timers_by_ticket-changelog"
    watcher = Watcher(bootstrap, tickets_topic, changelog)
    try:
        for process in processes:  # one at a time: the first dispatch worker migrates the database
            process.start()
            await process.wait_ready()
        log(f"workers ready: {', '.join(f'{p.name}[{p.pid}]' for p in processes)}")
        for i, process in enumerate(processes):
            watcher.pids[process.name if process.name != "dispatch" else f"dispatch-{i}"] = process.pid
        watcher.pids["kafka"] = broker_pid()
        await producer.start()
        await watcher.start(bootstrap, changelog)
        warm = [ticket_received(i, run) for i in range(200)]
        result["warm_up"] = await run_phase(producer, watcher, tickets_topic, warm, 100.0, 90)
        log(f"warm-up: {json.dumps(result['warm_up'])}")
        if profile_dir is not None:
            profilers = start_profilers(processes, profile_dir, seconds + time_limit)
        if rate and seconds:
            paced = [ticket_received(i, run) for i in range(int(rate * seconds))]
            result["paced"] = await run_phase(producer, watcher, tickets_topic, paced, rate, time_limit)
            log(f"paced: {json.dumps(result['paced'])}")
        if burst:
            flat = [ticket_received(i, run) for i in range(burst)]
            result["burst"] = await run_phase(producer, watcher, tickets_topic, flat, None, time_limit)
            log(f"burst: {json.dumps(result['burst'])}")
    finally:
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
        for profiler in profilers:
            try:
                profiler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                profiler.kill()
        await watcher.stop()
        await producer.stop()
        for process in processes:
            process.stop()
        failed = [p for p in processes if p.process is not None and p.process.returncode not in (0, -15, None)]
        for process in failed:
            log(f"{process.name} exited {process.process.returncode if process.process else None}")
        await _delete_topics_with_prefixes(bootstrap, list(topics), [sla_app])
        await admin_sql(server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "benchmark": "pipeline",
        "what": "TicketReceived sent -> TicketDispatched on the tickets topic -> SLA monitor unit clocks started",
        "processes": {"dispatch_workers": dispatch_workers, "sla_monitor_workers": 1},
        "partitions": partitions,
        "event_bytes": len(warm[0][2]) if result else None,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": result,
    }


def start_profilers(processes: list[ServiceProcess], out: Path, seconds: float) -> list[subprocess.Popen[bytes]]:
    """py-spy on every worker for the measured phases (speedscope files in `out`)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out.mkdir(parents=True, exist_ok=True)
    started = []
    for process in processes:
        target = out / f"{process.name}-{process.pid}.txt"
        started.append(
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(process.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--duration",
                    str(int(seconds)),
                    "--output",
                    str(target),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return started


def main(argv: list[str] | None = None) -> int:
    from hotline.infra.harness import server_for_session
    from hotline.infra.postgres import TEST_DATABASE
    from hotline.infra.settings import InfraSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=1000.0, help="paced phase: tickets per second (0: skip)")
    parser.add_argument("--seconds", type=float, default=15.0, help="paced phase: seconds of sending")
    parser.add_argument("--burst", type=int, default=10_000, help="burst phase: tickets sent at once (0: skip)")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--dispatch-workers", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per phase at most")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the workers into this folder")
    args = parser.parse_args(argv)
    settings = InfraSettings()
    with (
        server_for_session("kafka", settings) as bootstrap,
        server_for_session("postgres", settings, database=TEST_DATABASE) as server_url,
    ):
        report = asyncio.run(
            measure_pipeline(
                bootstrap,
                server_url,
                rate=args.rate,
                seconds=args.seconds,
                burst=args.burst,
                partitions=args.partitions,
                dispatch_workers=max(1, min(args.dispatch_workers, args.partitions)),
                time_limit=args.time_limit,
                profile_dir=args.profile,
            )
        )
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
