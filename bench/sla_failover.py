"""SLA monitor recovery as ops see it: a worker killed while another runs, with and without standby replicas,
and a killed worker restarted on its own volume (state kept).

    python bench/sla_failover.py                    # 20,000 open timers, each case once (a few minutes)
    python bench/sla_failover.py --timers 100000

For each case two real worker processes (RocksDB, each with its own state folder, as two StatefulSet pods
with their volumes) share the partitions of a tickets topic and hold `--timers` open timers due hours
ahead. Then one worker is killed with SIGKILL and `--probes` tickets fall due one second later on every
partition. Measured: seconds from the kill until every probe's breach is announced, i.e. until the
partitions of the dead worker are served again:
  - `failover_no_standby`: the survivor takes them over and rebuilds their tables from the changelog;
  - `failover_standby`: HOTLINE_SLA_STANDBY_REPLICAS=1, the survivor already holds warm copies;
  - `restart_with_volume`: a single worker killed and started again on its kept state folder (what a pod
    restarted on its PersistentVolumeClaim does).
Every figure includes the consumer group's session timeout (6 s here) that detects the dead member.
Uses $KAFKA_BOOTSTRAP or the local `hotline infra` broker. Prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.sla_scale import app_topics, breach_lags, make_topics, produce, wait_consumed
from hotline.infra.console import log_to_stderr
from hotline.infra.topics import delete_topics
from tests.integration.sla_monitor.harness import MonitorProcess, monitor_env


def log(message: str) -> None:
    sys.stderr.write(f"[sla_failover] {message}\n")


def run_case(bootstrap: str, case: str, timers: int, probes: int, workdir: Path) -> dict[str, Any]:
    tickets, sla, ticks = asyncio.run(make_topics(bootstrap))
    group = f"bench-failover-{uuid.uuid4().hex[:8]}"
    env = monitor_env(bootstrap, tickets, sla, ticks, group)
    env["HOTLINE_SLA_STANDBY_REPLICAS"] = "1" if case == "failover_standby" else "0"
    count = 1 if case == "restart_with_volume" else 2
    workers = [
        MonitorProcess(env, workdir / f"{case}-state-{i}", workdir / f"{case}-worker-{i}.log") for i in range(count)
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready(within=120)
        far = datetime.now(UTC) + timedelta(hours=2)
        asyncio.run(produce(bootstrap, tickets, "open", [far + timedelta(milliseconds=37 * i) for i in range(timers)]))
        asyncio.run(wait_consumed(bootstrap, group, tickets, within=900))
        time.sleep(5)  # standbys read the changelog's tail
        victim = workers[0]
        victim.kill()
        killed = time.perf_counter()
        due = datetime.now(UTC) + timedelta(seconds=1)
        asyncio.run(produce(bootstrap, tickets, "probe", [due + timedelta(milliseconds=i) for i in range(probes)]))
        if case == "restart_with_volume":
            victim.start()
        found = asyncio.run(breach_lags(bootstrap, sla, "probe", probes, within=600))
        return {
            "case": case,
            "open_timers": timers,
            "workers": count,
            "probes_announced": len(found),
            "seconds_from_kill_to_every_probe_announced": round(time.perf_counter() - killed, 2),
        }
    finally:
        for worker in workers:
            worker.stop()
        asyncio.run(delete_topics(bootstrap, [tickets, sla, ticks, *asyncio.run(app_topics(bootstrap, group))]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, default=20_000)
    parser.add_argument("--probes", type=int, default=60)
    cases = ["restart_with_volume", "failover_no_standby", "failover_standby"]
    parser.add_argument("--cases", nargs="+", default=cases)
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args()
    log_to_stderr()  # stdout is the JSON document
    bootstrap = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    workdir = Path(tempfile.mkdtemp(prefix="sla-failover-"))
    results = []
    try:
        for case in args.cases:
            log(f"{case}, {args.timers} open timers ...")
            started = os.getloadavg()[0]
            result = run_case(bootstrap, case, args.timers, args.probes, workdir)
            result["load_average_before_after"] = [round(started, 2), round(os.getloadavg()[0], 2)]
            results.append(result)
            log(json.dumps(result))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.write(json.dumps({"scenario": "sla-failover", "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
