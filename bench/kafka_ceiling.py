"""The raw aiokafka produce→consume ceiling on the local broker: throughput and latency, as JSON.

    python bench/kafka_ceiling.py                  # 200 B and 2 KB values, ~1 minute at most
    python bench/kafka_ceiling.py --start-times    # also the broker's cold and warm start times

Later benchmarks (services, Faust agents) are compared with these figures, taken in the same run.
Uses $KAFKA_BOOTSTRAP when set; otherwise starts the local broker (`hotline infra`) and stops it
afterwards if it was not running before. Every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import struct
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hotline.infra.console import log_to_stderr
from hotline.infra.harness import server_for_session
from hotline.infra.kafka import KAFKA_VERSION, KafkaServer
from hotline.infra.settings import InfraSettings
from hotline.infra.topics import create_topics, delete_topics, unique_topic_name

STAMP = struct.Struct(">QQ")  # sequence number, send time (perf_counter_ns)


@dataclass(frozen=True)
class Phase:
    messages: int
    seconds: float
    msgs_per_s: float
    mb_per_s: float
    latency_ms_p50: float
    latency_ms_p99: float
    latency_ms_max: float


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def _run_phase(
    bootstrap: str,
    topic: str,
    partitions: int,
    value_bytes: int,
    messages: int,
    time_limit: float,
    rate: float | None,
) -> Phase:
    """Send up to `messages` values (flat out, or at `rate` per second) and receive them back."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=5, max_poll_records=5000)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, max_batch_size=256 * 1024, acks=1)
    await consumer.start()
    await producer.start()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    for tp, offset in (await consumer.end_offsets(tps)).items():
        consumer.seek(tp, offset)
    padding = b"x" * max(0, value_bytes - STAMP.size)
    latencies: list[float] = []
    received = 0
    sent = 0
    deadline = time.perf_counter() + time_limit
    done_sending = asyncio.Event()

    async def receive() -> None:
        nonlocal received
        while time.perf_counter() < deadline + 5:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter_ns()
            for records in batches.values():
                for record in records:
                    _, sent_ns = STAMP.unpack_from(record.value or b"")
                    latencies.append((now - sent_ns) / 1e6)
                received += len(records)
            if done_sending.is_set() and received >= sent:
                return

    receiver = asyncio.create_task(receive())
    started = time.perf_counter()
    pending = []
    try:
        while sent < messages and time.perf_counter() < deadline:
            if rate is not None:
                due = started + sent / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            value = STAMP.pack(sent, time.perf_counter_ns()) + padding
            pending.append(await producer.send(topic, value, partition=sent % partitions))
            sent += 1
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        done_sending.set()
        await receiver
    finally:
        receiver.cancel()
        await producer.stop()
        await consumer.stop()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Phase(
        messages=received,
        seconds=round(elapsed, 3),
        msgs_per_s=round(received / elapsed, 1),
        mb_per_s=round(received * value_bytes / elapsed / 1e6, 2),
        latency_ms_p50=round(_percentile(latencies, 0.50), 2),
        latency_ms_p99=round(_percentile(latencies, 0.99), 2),
        latency_ms_max=round(latencies[-1], 2) if latencies else float("nan"),
    )


async def measure_ceiling(
    bootstrap: str,
    value_sizes: tuple[int, ...] = (200, 2048),
    messages: int = 200_000,
    time_limit: float = 20.0,
    partitions: int = 3,
    paced_rate: float = 1000.0,
    paced_seconds: float = 3.0,
) -> dict[str, Any]:
    """Flat-out throughput (with latency under that load) and latency at a light paced load."""
    results = []
    for size in value_sizes:
        topic = unique_topic_name(f"bench-ceiling-{size}")
        await create_topics(bootstrap, {topic: partitions})
        try:
            flat_out = await _run_phase(bootstrap, topic, partitions, size, messages, time_limit, None)
            paced_count = int(paced_rate * paced_seconds)
            paced = await _run_phase(bootstrap, topic, partitions, size, paced_count, paced_seconds * 2, paced_rate)
        finally:
            await delete_topics(bootstrap, [topic])
        results.append(
            {"value_bytes": size, "flat_out": asdict(flat_out), f"paced_{int(paced_rate)}_per_s": asdict(paced)}
        )
    return {
        "benchmark": "kafka_ceiling",
        "broker": bootstrap,
        "kafka_version": KAFKA_VERSION,
        "client": "aiokafka " + _version("aiokafka"),
        "producer": {"acks": 1, "linger_ms": 2, "max_batch_size": 262144},
        "partitions": partitions,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": results,
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure_broker_start() -> dict[str, float]:
    """Seconds to a broker answering metadata: cold (empty Maven repo + fetch + format + start), warm."""
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as scratch:
        root = Path(scratch)
        settings = InfraSettings(
            infra_state_dir=root / "state",
            cache_dir=root / "cache",
            kafka_port=_free_port(),
            kafka_controller_port=_free_port(),
        )
        server = KafkaServer(settings)
        previous = os.environ.get("MAVEN_OPTS")
        os.environ["MAVEN_OPTS"] = f"{previous or ''} -Dmaven.repo.local={root / 'm2'}".strip()
        try:
            began = time.perf_counter()
            server.start()
            cold = time.perf_counter() - began
        finally:
            if previous is None:
                os.environ.pop("MAVEN_OPTS", None)
            else:
                os.environ["MAVEN_OPTS"] = previous
            server.stop()
        try:
            began = time.perf_counter()
            server.start()
            warm = time.perf_counter() - began
        finally:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return {"cold_start_s": round(cold, 2), "warm_start_s": round(warm, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=200_000, help="flat-out messages per value size")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per flat-out phase at most")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--start-times", action="store_true", help="also time a cold and a warm broker start")
    args = parser.parse_args(argv)
    log_to_stderr()

    with server_for_session("kafka", InfraSettings()) as bootstrap:
        report = asyncio.run(
            measure_ceiling(bootstrap, messages=args.messages, time_limit=args.time_limit, partitions=args.partitions)
        )
    if args.start_times:
        report["broker_start"] = measure_broker_start()
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
