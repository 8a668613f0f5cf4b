"""SLA monitor at scale on real Kafka: detection lag with N open timers, memory per timer, recovery after kill -9.

    python bench/sla_scale.py                       # 10k and 100k open timers (a few minutes)
    python bench/sla_scale.py --sizes 10000 --probes 500

For each size: a real worker process (RocksDB store) loads N open timers due hours ahead, then
`--probes` tickets fall due a few seconds later; detection lag is the breach message's Kafka
timestamp minus the deadline. Memory per timer is the worker's resident-memory growth over N.
Recovery: kill -9, restart with the local state kept and then wiped; time from restart until a
timer that fell due while the worker was down is announced. Changelog traffic: messages and bytes
the worker's tables wrote to their changelog topics per ticket loaded. Every figure carries the 1-minute
load average at its start and end; `--ceiling` also measures the raw Kafka ceiling (bench/kafka_ceiling.py)
in the same run and gives the load rate as a ratio to it (the suite passes its own ceiling instead).
Prints one JSON document on stdout. Uses $KAFKA_BOOTSTRAP or the local `hotline infra` broker
(127.0.0.1:19092). Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hotline.infra.console import log_to_stderr
from hotline.infra.topics import create_topics, delete_topics, unique_topic_name
from shared.events import TicketReceived, decode, encode, message_key, new_event
from tests.integration.sla_monitor.harness import MonitorProcess, monitor_env

PARTITIONS = 6


def log(message: str) -> None:
    sys.stderr.write(f"[sla_scale] {message}\n")


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def cpu_seconds(process: MonitorProcess) -> float:
    """User + system CPU the worker process has used (robust to the other sessions' load, unlike a rate)."""
    if process.process is None:
        return 0.0
    fields = Path(f"/proc/{process.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_profiler(process: MonitorProcess, target: Path) -> subprocess.Popen[bytes]:
    """py-spy on the worker (raw collapsed stacks, for bench/profile_summary.py) until SIGINT."""
    if process.process is None:
        raise RuntimeError("the worker is not running")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [spy, "record", "--pid", str(process.process.pid), "--format", "raw", "--rate", "100"]
    return subprocess.Popen([*command, "--output", str(target), "--nonblocking"], stdout=subprocess.DEVNULL)


def rss_mb(process: MonitorProcess) -> float:
    if process.process is None:
        return 0.0  # not started
    for line in Path(f"/proc/{process.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def produce(bootstrap: str, topic: str, prefix: str, deadlines: list[datetime]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        now = datetime.now(UTC)
        for i, due in enumerate(deadlines):
            ticket_id = f"{prefix}-{i:07d}"
            event = new_event(
                TicketReceived(channel="phone", category="repair", received_at=due - timedelta(minutes=5)),
                ticket_id=ticket_id,
                branch="default",
                producer="bench",
                correlation_id=ticket_id,
                occurred_at=now,
            )
            await producer.send(topic, encode(event), key=message_key(event))
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def wait_consumed(bootstrap: str, group: str, topic: str, within: float) -> float:
    """Until the worker's group has committed every offset of `topic`; returns the seconds waited."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    started = time.perf_counter()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        while time.perf_counter() - started < within:
            ends = await consumer.end_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group)
            done = sum(meta.offset for tp, meta in committed.items() if tp.topic == topic)
            if done >= sum(ends.values()):
                return time.perf_counter() - started
            await asyncio.sleep(1)
        raise TimeoutError(f"{topic} not consumed within {within} s")
    finally:
        await consumer.stop()
        await admin.close()


async def breach_lags(bootstrap: str, topic: str, prefix: str, expected: int, within: float) -> list[float]:
    """Seconds from deadline to the SlaBreached message (Kafka timestamp) for tickets of `prefix`."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    lags: dict[str, float] = {}
    started = time.perf_counter()
    try:
        while len(lags) < expected and time.perf_counter() - started < within:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for record in records:
                    if not (record.key or b"").startswith(prefix.encode()):
                        continue
                    event = decode(record.value)
                    if event.type == "SlaBreached" and event.ticket_id not in lags:
                        deadline = event.payload.deadline.timestamp()  # type: ignore[attr-defined]
                        lags[str(event.ticket_id)] = record.timestamp / 1000 - deadline
    finally:
        await consumer.stop()
    return list(lags.values())


def disk_bytes(topic: str) -> int | None:
    """The topic's log segments as the local `hotline infra` broker stored them (compressed batches), if local."""
    from hotline.infra.settings import InfraSettings

    data = InfraSettings().kafka_dir / "data"
    folders = list(data.glob(f"{topic}-*")) if data.is_dir() else []
    if not folders:
        return None
    return sum(f.stat().st_size for folder in folders for f in folder.glob("*.log"))


async def changelog_traffic(bootstrap: str, app_id: str) -> dict[str, Any]:
    """Messages and bytes (key + value, as produced) in each of the app's changelog topics, from the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    traffic: dict[str, Any] = {}
    try:
        names = sorted(t for t in await consumer.topics() if t.startswith(f"{app_id}-") and t.endswith("-changelog"))
        for name in names:
            partitions = [TopicPartition(name, p) for p in range(PARTITIONS)]  # a changelog has its source's count
            ends = await consumer.end_offsets(partitions)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            messages = size = 0
            deadline = time.perf_counter() + 300  # ~1.3M messages at 1M timers
            while time.perf_counter() < deadline:
                remaining = [tp for tp in partitions if await consumer.position(tp) < ends[tp]]
                if not remaining:
                    break
                batch = await consumer.getmany(*remaining, timeout_ms=500, max_records=20_000)
                for records in batch.values():
                    for record in records:
                        messages += 1
                        size += len(record.key or b"") + len(record.value or b"")
            table = name[len(app_id) + 1 : -len("-changelog")]
            traffic[table] = {"messages": messages, "bytes": size, "bytes_on_disk": disk_bytes(name)}
    finally:
        await consumer.stop()
    return traffic


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "count": len(ordered),
        "p50_s": round(statistics.median(ordered), 4),
        "p99_s": round(pick(0.99), 4),
        "max_s": round(ordered[-1], 4),
    }


async def app_topics(bootstrap: str, app_id: str) -> list[str]:
    """The topics the worker's Faust app made for itself (changelogs, leader topic): removed with the run's."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return [name for name in await admin.list_topics() if name.startswith(f"{app_id}-")]
    finally:
        await admin.close()


async def make_topics(bootstrap: str) -> tuple[str, str, str]:
    names = (
        unique_topic_name("bench-sla-tickets"),
        unique_topic_name("bench-sla-out"),
        unique_topic_name("bench-ticks"),
    )
    await create_topics(bootstrap, {names[0]: PARTITIONS, names[1]: PARTITIONS, names[2]: PARTITIONS})
    return names


def run_size(
    bootstrap: str,
    size: int,
    probes: int,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    recovery: bool = True,
    profile: Path | None = None,
) -> dict[str, Any]:
    tickets, sla, ticks = asyncio.run(make_topics(bootstrap))
    group = f"bench-sla-{uuid.uuid4().hex[:8]}"
    env = dict(monitor_env(bootstrap, tickets, sla, ticks, group), **(extra_env or {}))
    state = workdir / f"state-{size}"
    worker = MonitorProcess(env, state, workdir / f"worker-{size}.log")
    result: dict[str, Any] = {"open_timers": size}
    try:
        worker.start()
        worker.wait_ready(within=180)  # a loaded machine starts Faust slowly
        rss_before = rss_mb(worker)
        # N open timers, due hours ahead (they only sit in the tables and the due index)
        far = datetime.now(UTC) + timedelta(hours=2)
        deadlines = [far + timedelta(milliseconds=37 * i) for i in range(size)]
        load_before = load_average()
        cpu_before = cpu_seconds(worker)
        spy = start_profiler(worker, profile / f"sla-load-{size}.txt") if profile is not None else None
        loading = time.perf_counter()
        produce_s = asyncio.run(produce(bootstrap, tickets, "open", deadlines))
        # bounded by size: 1M at the old ~1,100/s took 15 minutes
        asyncio.run(wait_consumed(bootstrap, group, tickets, within=max(900.0, size / 500)))
        consumed_s = time.perf_counter() - loading
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        result["load"] = {
            "produce_s": round(produce_s, 2),
            "consumed_after_s": round(consumed_s, 2),
            "timers_per_s": round(size / consumed_s, 1),
            "worker_cpu_ms_per_timer": round((cpu_seconds(worker) - cpu_before) * 1000 / size, 3),
            "load_avg": [load_before, load_average()],
        }
        log(f"load: {json.dumps(result['load'])}")
        time.sleep(3)
        rss_after = rss_mb(worker)
        traffic = asyncio.run(changelog_traffic(bootstrap, group))
        messages = sum(t["messages"] for t in traffic.values())
        written = sum(t["bytes"] for t in traffic.values())
        result["changelog"] = {
            "tables": traffic,
            "messages_per_ticket": round(messages / size, 3),
            "bytes_per_ticket": round(written / size, 1),
            "disk_bytes_per_ticket": round(sum(t["bytes_on_disk"] or 0 for t in traffic.values()) / size, 1),
        }
        log(f"changelog: {json.dumps(result['changelog'])}")
        if probes <= 0:
            return result
        result["memory"] = {
            "rss_before_mb": round(rss_before, 1),
            "rss_after_mb": round(rss_after, 1),
            "bytes_per_timer": round((rss_after - rss_before) * 1024 * 1024 / size, 1),
            "state_dir_mb": round(sum(f.stat().st_size for f in state.rglob("*") if f.is_file()) / 1e6, 1),
        }
        # probes fall due over 10 s starting 8 s from now, among the N open timers
        first = datetime.now(UTC) + timedelta(seconds=8)
        probe_deadlines = [first + timedelta(seconds=10 * i / probes) for i in range(probes)]
        load_before = load_average()
        asyncio.run(produce(bootstrap, tickets, "probe", probe_deadlines))
        lags = asyncio.run(breach_lags(bootstrap, sla, "probe", probes, within=120))
        result["detection_lag"] = {**summary(lags), "load_avg": [load_before, load_average()]}
        log(f"detection lag: {json.dumps(result['detection_lag'])}")
        if not recovery:
            return result
        # recovery: kill -9, timers fall due while down, restart with state kept, then wiped
        for mode in ("kept", "wiped"):
            asyncio.run(wait_consumed(bootstrap, group, tickets, within=120))
            time.sleep(2)
            worker.kill()
            if mode == "wiped":
                shutil.rmtree(state, ignore_errors=True)
            due = datetime.now(UTC) + timedelta(seconds=1)
            prefix = f"rec{mode}"
            asyncio.run(produce(bootstrap, tickets, prefix, [due + timedelta(milliseconds=i) for i in range(50)]))
            load_before = load_average()
            restarted = time.perf_counter()
            worker.start()
            recovered = asyncio.run(breach_lags(bootstrap, sla, prefix, 50, within=max(600.0, size / 200)))
            seconds = time.perf_counter() - restarted
            result[f"recovery_{mode}_state"] = {
                "seconds_to_first_breach_after_restart": round(seconds, 2),
                "seconds_per_million_timers": round(seconds * 1_000_000 / size, 1),
                "due_while_down_announced": len(recovered),
                "load_avg": [load_before, load_average()],
                "note": "includes the group's session timeout (6 s) left by the killed member",
            }
            log(f"recovery {mode}: {json.dumps(result[f'recovery_{mode}_state'])}")
    finally:
        worker.stop()
        asyncio.run(delete_topics(bootstrap, [tickets, sla, ticks, *asyncio.run(app_topics(bootstrap, group))]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--probes", type=int, default=1000, help="0: only the load and its changelog traffic")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the worker while it loads, into DIR")
    parser.add_argument("--no-recovery", action="store_true", help="skip the kill -9 and restart phases")
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--ceiling", action="store_true", help="measure the raw Kafka ceiling first (same run)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="extra worker setting (HOTLINE_SLA_...)"
    )
    args = parser.parse_args()
    log_to_stderr()  # stdout is the JSON document
    # a `timeout` or the suite's SIGTERM still stops the worker and deletes the topics (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    bootstrap = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    extra_env = dict(item.split("=", 1) for item in args.env)
    document: dict[str, Any] = {"scenario": "sla-scale", "partitions": PARTITIONS, "worker_env": extra_env}
    if args.ceiling:
        from bench.kafka_ceiling import measure_ceiling

        load_before = load_average()
        ceiling = asyncio.run(
            measure_ceiling(bootstrap, value_sizes=(1024,), messages=50_000, time_limit=10.0, partitions=PARTITIONS)
        )
        document["ceiling_1kb_msgs_per_s"] = ceiling["results"][0]["flat_out"]["msgs_per_s"]
        document["ceiling_load_avg"] = [load_before, load_average()]
    workdir = Path(tempfile.mkdtemp(prefix="sla-scale-"))
    results: list[dict[str, Any]] = []
    try:
        for size in args.sizes:
            log(f"{size} open timers ...")
            results.append(
                run_size(
                    bootstrap,
                    size,
                    args.probes,
                    workdir,
                    extra_env,
                    recovery=not args.no_recovery,
                    profile=args.profile,
                )
            )
            if "ceiling_1kb_msgs_per_s" in document:
                rate = results[-1]["load"]["timers_per_s"]
                results[-1]["load"]["ratio_to_1kb_ceiling"] = round(rate / document["ceiling_1kb_msgs_per_s"], 4)
            log(json.dumps(results[-1]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    document["results"] = results
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
