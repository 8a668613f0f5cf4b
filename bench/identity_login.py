"""Sign-in latency (p50/p99) and sign-ins/s through identity's real HTTP API on PostgreSQL, as JSON.

    python -m bench.identity_login                      # 20 s of sign-ins, 4 concurrent clients
    python -m bench.identity_login --seconds 30 --concurrency 8

Identity runs as its own process (role `api`, uvicorn on loopback) on a fresh database of the
PostgreSQL server ($DATABASE_URL, else the local `hotline infra` server). Each sign-in verifies an
Argon2id hash with the production parameters (settings.py: t=2, m=19 MiB, p=1), writes the refresh
token and the audit record, and signs an EdDSA access token. The per-username and per-address rate
limits are raised for the run (every request comes from 127.0.0.1); the lockout stays as it is. A
second, shorter phase times wrong passwords and unknown usernames: they should cost the same.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench.intake_create import admin, free_port, wait_ready
from hotline.infra.harness import ensure_postgres
from hotline.infra.postgres import PostgresServer
from hotline.infra.settings import InfraSettings

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "a benchmark passphrase"  # noqa: S105 - the benchmark's own throwaway people
PEOPLE = 20


def add_people(url: str) -> None:
    """The benchmark's people, made through the directory's own use case (hashes at production cost)."""
    from services.identity.bootstrap import build, migrate
    from services.identity.handlers.common import cli_actor
    from services.identity.handlers.directory import create_person
    from services.identity.schemas import PersonCreate
    from shared.db import transaction

    async def run() -> None:
        await asyncio.to_thread(migrate, url)
        service = build(database_url=url)
        try:
            async with transaction(service.sessions) as session:
                for i in range(PEOPLE):
                    body = PersonCreate(branch="demo", username=f"bench.{i}", roles=["agent"], password=PASSWORD)
                    await create_person(session, service.identity, cli_actor("demo"), body)
        finally:
            await service.close()

    asyncio.run(run())


def pct(ordered: list[float], p: float) -> float | None:
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1) if ordered else None


async def timed(
    client: httpx.AsyncClient, seconds: float, concurrency: int, body: Any, expect: int, limit: int = 10**9
) -> dict[str, Any]:
    latencies: list[float] = []
    other: dict[str, int] = {}
    stop_at = time.monotonic() + seconds
    count = iter(range(limit))

    async def worker() -> None:
        for i in count:
            if time.monotonic() > stop_at:
                return
            started = time.perf_counter()
            response = await client.post("/api/v1/auth/login", json=body(i))
            elapsed = time.perf_counter() - started
            if response.status_code == expect:
                latencies.append(elapsed)
            else:
                other[str(response.status_code)] = other.get(str(response.status_code), 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "answered": len(ordered),
        "unexpected": other,
        "per_second": round(len(ordered) / wall, 1),
        "latency_ms": {
            "p50": pct(ordered, 0.5),
            "p99": pct(ordered, 0.99),
            "mean": round(statistics.fmean(ordered) * 1000, 1) if ordered else None,
        },
    }


async def load(base: str, seconds: float, concurrency: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await wait_ready(client, 60)

        def good(i: int) -> dict[str, str]:
            return {"username": f"bench.{i % PEOPLE}", "password": PASSWORD}

        def wrong(i: int) -> dict[str, str]:
            return {"username": f"bench.{i % PEOPLE}", "password": f"wrong {i}"}

        def unknown(i: int) -> dict[str, str]:
            return {"username": f"nobody.{i}", "password": f"wrong {i}"}

        for i in range(8):  # warm-up: connections, key ring, imports
            await client.post("/api/v1/auth/login", json=good(i))
        sign_ins = await timed(client, seconds, concurrency, good, 200)
        # at most 4 wrong passwords per person: the 5th would lock (423), a different answer
        wrong_passwords = await timed(client, min(5.0, seconds), 1, wrong, 401, limit=4 * PEOPLE)
        unknown_users = await timed(client, min(5.0, seconds), 1, unknown, 401, limit=4 * PEOPLE)
    return {"sign_in": sign_ins, "wrong_password": wrong_passwords, "unknown_user": unknown_users}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    seconds, concurrency = max(2.0, min(args.seconds, 60.0)), max(1, min(args.concurrency, 32))

    settings = InfraSettings()
    server_url, started = ensure_postgres(settings, database="postgres")
    database = f"identity_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{database}"'))
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_IDENTITY_DATABASE_URL": make_url(server_url).set(database=database).render_as_string(False),
        "HOTLINE_API_PORT": str(port),
        "HOTLINE_LOG_LEVEL": "WARNING",
        "HOTLINE_IDENTITY_RATE_PER_USERNAME": "1000000",
        "HOTLINE_IDENTITY_RATE_PER_ADDRESS": "1000000",
    }
    process = None
    try:
        add_people(env["HOTLINE_IDENTITY_DATABASE_URL"])
        process = subprocess.Popen(
            [sys.executable, "-m", "hotline", "service", "run", "identity", "--role", "api"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        result = asyncio.run(load(f"http://127.0.0.1:{port}", seconds, concurrency))
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if started:
            PostgresServer(settings).stop()
    report = {
        "benchmark": "identity_login",
        "path": "HTTP POST /api/v1/auth/login -> Argon2id verify -> PostgreSQL (refresh token, audit) -> EdDSA sign",
        "argon2id": {"time_cost": 2, "memory_kib": 19 * 1024, "parallelism": 1, "concurrent_hashes": 2},
        "seconds": seconds,
        "concurrency": concurrency,
        "server": "uvicorn, 1 process, loopback",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        **result,
    }
    print(json.dumps(report, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
