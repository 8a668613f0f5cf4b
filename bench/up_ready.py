"""How long `hotline up` takes to be ready, cold (new state folder: Kafka formatted, databases migrated) and warm.

    python bench/up_ready.py                 # one cold start, then --warm warm starts (default 2), JSON
    python bench/up_ready.py --postgres      # the same with PostgreSQL databases

Runs `hotline up --once` / `hotline down` as a newcomer would, in a throw-away XDG_STATE_HOME with its own
Kafka broker on spare ports (the Kafka release jars stay cached in the user's cache folder), so a broker
or system already running here is left alone. The service ports 8101-8114 must be free.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

READY = re.compile(r"hotline is up in ([0-9.]+) s")


def _run(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def start_once(env: dict[str, str], timeout: float, postgres: bool) -> dict[str, Any]:
    begun = time.perf_counter()
    result = _run(["up", "--once", *(["--postgres"] if postgres else [])], env, timeout)
    wall = time.perf_counter() - begun
    match = READY.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise RuntimeError(f"hotline up failed ({result.returncode}): {result.stderr[-2000:]}")
    down = _run(["down"], env, 120)
    if down.returncode != 0:
        raise RuntimeError(f"hotline down failed: {down.stderr[-2000:]}")
    return {"ready_seconds": float(match.group(1)), "command_seconds": round(wall, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=2, help="warm starts after the cold one")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--kafka-port", type=int, default=29092)
    parser.add_argument("--timeout", type=float, default=300)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotline-up-bench-") as folder:
        env = dict(os.environ)
        env.update(
            {
                "XDG_STATE_HOME": str(Path(folder) / "state"),
                "HOTLINE_KAFKA_PORT": str(options.kafka_port),
                "HOTLINE_KAFKA_CONTROLLER_PORT": str(options.kafka_port + 1),
            }
        )
        cold = start_once(env, options.timeout, options.postgres)
        warm = [start_once(env, options.timeout, options.postgres) for _ in range(options.warm)]
    report = {
        "benchmark": "up_ready",
        "database": "postgresql" if options.postgres else "sqlite",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "cold": cold,
        "warm": warm,
        "warm_best_ready_seconds": min((w["ready_seconds"] for w in warm), default=None),
    }
    print(json.dumps(report, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
