"""Creates/s, p50/p99 and whole-system CPU per created ticket of `hotline up --postgres` as shipped, as JSON.

    XDG_STATE_HOME=/tmp/intake24-state unshare --net bash -c \\
        'ip link set lo up; .venv/bin/python -m bench.intake_up --seconds 20 --idle 30'

Starts the whole system the way a newcomer does (`hotline up --postgres --once`: its own Kafka broker and
durable PostgreSQL server, every service's processes), in a throw-away state folder; run it in a network
namespace of its own (above), so its fixed ports and its broker meet nobody else's. Then:

1. idle: the CPU every process of the system spends in `--idle` seconds with nothing to do (fraction of a core);
2. a warm-up of `--warmup` creates, then creates through intake's HTTP API at concurrency 4 and then 16, each for
   at most `--seconds`: creates/s, p50/p99, and the CPU per created ticket of every process of the system (APIs,
   workers, broker, database server with its backends), read from /proc/<pid>/stat of each process and its
   descendants, the load generator's own apart;
3. every ticket created: routed (its `TicketDispatched` on hotline.tickets, or `ManualDispatchQueued` when no rule
   of the branch routes it: the center dispatches it by hand, e.g. a consultation without an address), and its
   timers in the SLA monitor (`GET /api/v1/sla/tickets/{id}/timers`; every category of the load runs clocks,
   RULES.md §2), within `--settle` seconds of the last create.

The 1-minute load average is printed beside every figure (the machine is shared). `hotline down` at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.intake_create import body, wait_ready

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
INTAKE = "http://127.0.0.1:8101"
SLA = "http://127.0.0.1:8103"


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# ----------------------------------------------------------------------------- CPU of the system's processes


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks of the process and of its waited-for children) from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), sum(int(f) for f in fields[11:15])  # utime stime cutime cstime


def cpu_by_root(roots: dict[str, int]) -> dict[str, int]:
    """CPU ticks of each named root process with all its descendants (uvicorn workers, PostgreSQL backends)."""
    stats = {int(e.name): s for e in Path("/proc").iterdir() if e.name.isdigit() and (s := _stat(int(e.name)))}
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (parent, _) in stats.items():
        children[parent].append(pid)
    totals: dict[str, int] = {}
    for name, root in roots.items():
        total, todo = 0, [root]
        while todo:
            pid = todo.pop()
            if pid in stats:
                total += stats[pid][1]
                todo.extend(children.get(pid, ()))
        totals[name] = total
    return totals


class CpuMeter:
    """CPU of every process of the system between `start()` and `stop()`, per process and in all."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self._before: dict[str, int] = {}

    def start(self) -> None:
        self._before = cpu_by_root(self.roots)

    def stop(self) -> dict[str, float]:
        """CPU seconds per process name since start()."""
        after = cpu_by_root(self.roots)
        return {name: (after[name] - self._before.get(name, 0)) / TICK for name in self.roots}


def system_roots(state_dir: Path) -> dict[str, int]:
    """Every process of the running system: the supervised service processes, the broker, the database server."""
    from hotline.infra.kafka import KafkaServer
    from hotline.infra.postgres import PostgresServer
    from hotline.infra.settings import InfraSettings

    state = json.loads((state_dir / "hotline" / "system" / "up.json").read_text())
    roots = dict(state["processes"])
    infra = InfraSettings()
    kafka, postgres = KafkaServer(infra).pid(), PostgresServer(infra).pid()
    if kafka is None or postgres is None:
        raise RuntimeError("the system's own broker or database server is not running")
    roots["kafka"], roots["postgres"] = kafka, postgres
    return roots


def per_ticket(cpu: dict[str, float], created: int) -> dict[str, Any]:
    ms = {name: round(seconds * 1000 / created, 3) for name, seconds in sorted(cpu.items(), key=lambda kv: -kv[1])}
    return {"total_ms": round(sum(ms.values()), 3), "by_process_ms": {k: v for k, v in ms.items() if v > 0}}


# ----------------------------------------------------------------------------- load


async def create_phase(
    client: httpx.AsyncClient, first: int, count: int, concurrency: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    created: list[str] = []
    failures: dict[str, int] = defaultdict(int)
    numbers = iter(range(first, first + count))
    stop_at = time.monotonic() + seconds

    async def worker() -> None:
        for i in numbers:
            if time.monotonic() > stop_at:
                return
            began = time.perf_counter()
            try:
                answer = await client.post("/api/v1/tickets", json=body(i))
            except httpx.TransportError as error:
                failures[type(error).__name__] += 1
                continue
            if answer.status_code == 201:
                latencies.append(time.perf_counter() - began)
                created.append(answer.json()["ticket_id"])
            else:
                failures[str(answer.status_code)] += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - began
    ordered = sorted(latencies)

    def pct(p: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1) if ordered else None

    return {
        "concurrency": concurrency,
        "created": len(created),
        "failed": dict(failures),
        "wall_seconds": round(wall, 2),
        "creates_per_second": round(len(created) / wall, 1) if wall else None,
        "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
        "ticket_ids": created,
    }


ROUTED = ("TicketDispatched", "ManualDispatchQueued")


async def routed_ids(bootstrap: str) -> dict[str, set[str]]:
    """Ticket ids of every TicketDispatched and ManualDispatchQueued on hotline.tickets (start to end offsets)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        metadata = await consumer._client.fetch_all_metadata()  # partitions_for_topic knows only subscribed topics
        numbers = metadata.partitions_for_topic("hotline.tickets") or set()
        partitions = [TopicPartition("hotline.tickets", p) for p in numbers]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: dict[str, set[str]] = {kind: set() for kind in ROUTED}

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value or b"{}")
                    if event.get("type") in found:
                        found[event["type"]].add(event["ticket_id"])
        return found
    finally:
        await consumer.stop()


async def timed_ids(token: str, ticket_ids: list[str]) -> set[str]:
    """The tickets whose timers the SLA monitor holds (its read API, 8 requests at a time)."""
    found: set[str] = set()
    queue = iter(ticket_ids)
    async with httpx.AsyncClient(base_url=SLA, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:

        async def ask() -> None:
            for ticket_id in queue:
                try:
                    answer = await client.get(f"/api/v1/sla/tickets/{ticket_id}/timers")
                except httpx.TransportError:  # a loaded monitor: asked again on the next round
                    continue
                if answer.status_code == 200 and answer.json()["timers"]:
                    found.add(ticket_id)

        await asyncio.gather(*(ask() for _ in range(8)))
    return found


async def followed_up(token: str, bootstrap: str, ticket_ids: list[str], settle: float) -> dict[str, Any]:
    """Wait until every created ticket is routed (dispatched, or queued for the center) and timed, at most `settle`
    seconds."""
    began = time.monotonic()
    wanted = set(ticket_ids)
    found: dict[str, set[str]] = {kind: set() for kind in ROUTED}
    timed: set[str] = set()
    while True:
        found = {kind: ids & wanted for kind, ids in (await routed_ids(bootstrap)).items()}
        routed = found["TicketDispatched"] | found["ManualDispatchQueued"]
        timed |= await timed_ids(token, sorted(wanted - timed))
        if (routed == wanted and timed == wanted) or time.monotonic() - began > settle:
            break
        await asyncio.sleep(2)
    return {
        "created": len(wanted),
        "dispatched": len(found["TicketDispatched"]),
        "queued_for_center": len(found["ManualDispatchQueued"] - found["TicketDispatched"]),
        "timed": len(timed),
        "all_followed_up": routed == wanted and timed == wanted,
        "seconds_after_the_last_create": round(time.monotonic() - began, 1),
    }


async def measure(args: argparse.Namespace, roots: dict[str, int], tokens: dict[str, str]) -> dict[str, Any]:
    meter = CpuMeter(roots)
    report: dict[str, Any] = {}
    await asyncio.sleep(args.settle_start)  # the start-up's own work (migrations, rebalances) dies down
    load = loadavg()
    meter.start()
    await asyncio.sleep(args.idle)
    idle = meter.stop()
    report["idle"] = {
        "seconds": args.idle,
        "cores": round(sum(idle.values()) / args.idle, 4),
        "by_process_cores": {k: round(v / args.idle, 4) for k, v in sorted(idle.items(), key=lambda kv: -kv[1]) if v},
        "load_average": [load, loadavg()],
    }
    token = tokens["agent"]
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    created: list[str] = []
    async with httpx.AsyncClient(base_url=INTAKE, headers=headers, limits=limits, timeout=30) as client:
        await wait_ready(client, 60)
        warm = await create_phase(client, 0, args.warmup, 4, 60)
        created += warm.pop("ticket_ids")
        report["warmup"] = {"created": warm["created"], "failed": warm["failed"]}
        first = args.warmup
        for concurrency in (4, 16):
            load = loadavg()
            meter.start()
            me = _stat(os.getpid())
            phase = await create_phase(client, first, args.tickets, concurrency, args.seconds)
            cpu = meter.stop()
            mine = _stat(os.getpid())
            first += args.tickets
            ids = phase.pop("ticket_ids")
            created += ids
            phase["cpu_per_ticket"] = per_ticket(cpu, max(1, len(ids)))
            phase["load_generator_ms_per_ticket"] = (
                round((mine[1] - me[1]) * 1000 / TICK / max(1, len(ids)), 3) if me and mine else None
            )
            phase["load_average"] = [load, loadavg()]
            report[f"concurrency_{concurrency}"] = phase
    print(json.dumps(report), file=sys.stderr)  # noqa: T201 - the figures so far, should the follow-up fail
    try:
        report["followed_up"] = await followed_up(token, "127.0.0.1:19092", created, args.settle)
    except Exception as error:  # the figures above still stand
        report["followed_up"] = {"error": repr(error)}
    return report


# ----------------------------------------------------------------------------- the system


def hotline(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def stop_everything(state_dir: Path, env: dict[str, str]) -> None:
    """`hotline down`, then SIGKILL for any recorded process group still there (a start-up cut by its timeout)."""
    import signal

    from hotline.infra.kafka import KafkaServer
    from hotline.infra.postgres import PostgresServer
    from hotline.infra.settings import InfraSettings

    try:
        recorded = json.loads((state_dir / "hotline" / "system" / "up.json").read_text())["processes"].values()
    except (OSError, ValueError, KeyError):
        recorded = []
    hotline(["down"], env, 180)
    for pid in recorded:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    infra = InfraSettings()
    KafkaServer(infra).stop()
    PostgresServer(infra).stop()


def in_own_namespace() -> bool:
    """True when the shared development broker (19092) does not answer here: this is a namespace of our own."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 19092)) != 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="at most this long per concurrency")
    parser.add_argument("--tickets", type=int, default=3000, help="at most this many creates per concurrency")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--settle-start", type=float, default=15.0, help="wait after start-up before measuring")
    parser.add_argument("--settle", type=float, default=60.0, help="at most this long for dispatch and timers")
    parser.add_argument("--start-timeout", type=float, default=900.0)
    args = parser.parse_args()
    args.seconds = min(args.seconds, 60.0)
    if not in_own_namespace():
        sys.exit("bench.intake_up: run it in a network namespace of its own (see its docstring): port 19092 answers")
    with tempfile.TemporaryDirectory(prefix="intake-up-bench-") as folder:
        # a loaded machine starts the broker and the server slowly: their own start timeouts as long as the system's
        timeout = str(int(args.start_timeout))
        env = {
            **os.environ,
            "XDG_STATE_HOME": folder,
            "HOTLINE_KAFKA_START_TIMEOUT": timeout,
            "HOTLINE_POSTGRES_START_TIMEOUT": timeout,
        }
        env.pop("DATABASE_URL", None)
        if os.geteuid() == 0:  # as root the server's folder must be reachable by the postgres user
            env["HOTLINE_POSTGRES_DIR"] = f"/var/lib/hotline/tests/intake-up-{uuid.uuid4().hex[:8]}"
        os.environ.update(env)
        began = time.monotonic()
        started = hotline(
            ["up", "--postgres", "--once", "--timeout", str(int(args.start_timeout))], env, args.start_timeout + 120
        )
        try:
            if started.returncode != 0:
                said = [line for line in started.stderr.splitlines() if "hotline: error" in line]
                raise RuntimeError(f"hotline up failed ({started.returncode}): {said or started.stderr[-3000:]}")
            ready = round(time.monotonic() - began, 1)
            state_dir = Path(folder)
            tokens = {
                line.split("\t")[0]: line.split("\t")[2]
                for line in (state_dir / "hotline" / "system" / "demo-tokens.txt").read_text().splitlines()
            }
            roots = system_roots(state_dir)
            result = asyncio.run(measure(args, roots, tokens))
        finally:
            stop_everything(Path(folder), env)
            if "HOTLINE_POSTGRES_DIR" in env:
                subprocess.run(["rm", "-rf", env["HOTLINE_POSTGRES_DIR"]], check=False)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    report = {
        "benchmark": "intake_up",
        "system": "hotline up --postgres (as shipped), own broker and durable PostgreSQL, loopback",
        "commit": commit.strip(),
        "ready_seconds": ready,
        "processes": sorted(roots),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        **result,
    }
    print(json.dumps(report, indent=2))  # noqa: T201
    c4, c16, idle = result["concurrency_4"], result["concurrency_16"], result["idle"]
    for name, phase in (("c=4", c4), ("c=16", c16)):
        lat = phase["latency_ms"]
        print(  # noqa: T201
            f"{name}: {phase['creates_per_second']} creates/s p50 {lat['p50']} ms p99 {lat['p99']} ms, "
            f"CPU {phase['cpu_per_ticket']['total_ms']} ms/ticket, load {phase['load_average']}",
            file=sys.stderr,
        )
    print(f"idle: {idle['cores']} cores, load {idle['load_average']}", file=sys.stderr)  # noqa: T201
    print(f"followed up: {result['followed_up']}", file=sys.stderr)  # noqa: T201


if __name__ == "__main__":
    main()
