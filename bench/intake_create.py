"""Create-ticket latency (p50/p99) and requests/s through intake's real HTTP API on PostgreSQL, as JSON.

    python bench/intake_create.py                        # 600 tickets, 8 concurrent clients, <= 60 s
    python bench/intake_create.py --tickets 2000 --concurrency 16 --max-seconds 120

The intake API runs as its own process (uvicorn on 127.0.0.1, role `api`) on a fresh database of the
PostgreSQL server ($DATABASE_URL, else the local `hotline infra` server, started if needed and stopped
afterwards when this run started it). Clients post a mix of repairs, consultations and complaints with
an agent token. Each ticket takes a per-branch-per-day number from the counter row, so the figure
includes that serialisation. Bounded in count and in time; only loopback traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from hotline.infra.harness import ensure_postgres
from hotline.infra.postgres import PostgresServer
from hotline.infra.settings import InfraSettings
from shared.auth import AuthSettings, Role, issue_token

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-" + uuid.uuid4().hex  # lives only as long as this run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def admin(url: str, statement: str) -> None:
    server = make_url(url)
    connection = await asyncpg.connect(
        host=server.host, port=server.port, user=server.username, password=server.password, database=server.database
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def body(i: int) -> dict[str, Any]:
    phone = f"138{i % 100_000_000:08d}"
    kind = i % 4
    if kind == 0:
        return {"category": "consultation", "customer": {"phone": phone}, "description": "如何缴费"}
    if kind == 1:
        return {
            "category": "complaint",
            "customer": {"name": "张三", "phone": phone},
            "description": "师傅上门态度差",  # a complaint needs one (a 422 without: a quarter of the load failed)
            "complaint": {"place": f"小区{i % 7}", "complaint_type": "service_attitude"},
        }
    return {
        "category": "repair",
        "customer": {"name": "张三", "phone": phone, "address": f"南宁市青秀区民族大道{i}号"},
        "description": "燃气灶打不着火",
    }


async def wait_ready(client: httpx.AsyncClient, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the intake API did not become ready")


async def load(base: str, token: str, tickets: int, concurrency: int, max_seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    failures: dict[str, int] = {}
    counter = iter(range(tickets))
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        await wait_ready(client, 60)
        for i in range(min(20, tickets)):  # warm-up: connections, prepared statements, imports
            await client.post("/api/v1/tickets", json=body(i))
        stop_at = time.monotonic() + max_seconds

        async def worker() -> None:
            for i in counter:
                if time.monotonic() > stop_at:
                    return
                started = time.perf_counter()
                response = await client.post("/api/v1/tickets", json=body(i))
                elapsed = time.perf_counter() - started
                if response.status_code == 201:
                    latencies.append(elapsed)
                else:
                    failures[str(response.status_code)] = failures.get(str(response.status_code), 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - began
    ordered = sorted(latencies)

    def pct(p: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    return {
        "created": len(latencies),
        "failed": failures,
        "wall_seconds": round(wall, 2),
        "requests_per_second": round(len(latencies) / wall, 1) if wall else None,
        "latency_ms": {
            "p50": pct(0.50),
            "p90": pct(0.90),
            "p99": pct(0.99),
            "max": round(ordered[-1] * 1000, 2) if ordered else None,
            "mean": round(statistics.fmean(ordered) * 1000, 2) if ordered else None,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()
    tickets, concurrency = max(1, min(args.tickets, 20_000)), max(1, min(args.concurrency, 64))
    max_seconds = max(1.0, min(args.max_seconds, 600.0))

    settings = InfraSettings()
    server_url, started = ensure_postgres(settings, database="postgres")
    database = f"intake_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{database}"'))
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_INTAKE_DATABASE_URL": make_url(server_url).set(database=database).render_as_string(False),
        "HOTLINE_API_PORT": str(port),
        "HOTLINE_JWT_SECRET": SECRET,
        "HOTLINE_LOG_LEVEL": "WARNING",
        "HOTLINE_BRANCH": "demo",
        # one token posts every ticket: the per-credential write limit would measure itself
        "HOTLINE_RATE_LIMIT_ENABLED": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from services.intake.main import main; main('api')"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        token = issue_token(
            AuthSettings(jwt_secret=SECRET),  # type: ignore[arg-type]
            subject="bench-agent",
            role=Role.AGENT,
            branch="demo",
            now=datetime.now(UTC),
            ttl=timedelta(hours=1),
        )
        result = asyncio.run(load(f"http://127.0.0.1:{port}", token, tickets, concurrency, max_seconds))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if started:
            PostgresServer(settings).stop()
    report = {
        "benchmark": "intake_create_ticket",
        "path": "HTTP POST /api/v1/tickets -> validation -> PostgreSQL (ticket, number counter, view, outbox)",
        "tickets_requested": tickets,
        "concurrency": concurrency,
        "server": "uvicorn, 1 process, loopback",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        **result,
    }
    print(json.dumps(report, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
