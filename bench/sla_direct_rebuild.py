"""The direct SLA engine's local rebuild, without Kafka: how long a partition's due index takes to rebuild from its
RocksDB rows (what every assignment does, also a restart on the kept volume), and the rows' write rate.

    python -m bench.sla_direct_rebuild                  # 20,000 open timers in one partition
    python -m bench.sla_direct_rebuild --timers 50000

Rows are made by the monitor's own code (`apply_batch` over TicketReceived events, as the engine stores them),
written in batches of 2,000 like the engine's, then `DirectMonitor._rebuild_index` runs on them. Prints one JSON
document with the load average beside each figure.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.sla_monitor.batch import apply_batch
from services.sla_monitor.direct import DirectMonitor
from services.sla_monitor.direct_store import PartitionStore
from services.sla_monitor.handlers import view_of
from services.sla_monitor.settings import MonitorSettings
from shared.branch_config import BranchPolicies
from shared.clock import SystemClock
from shared.events import TicketReceived, new_event

BATCH = 2_000


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def make_rows(store: PartitionStore, timers: int, policies: BranchPolicies) -> float:
    """Write `timers` open repair tickets' rows (due hours ahead); returns the seconds spent writing."""
    now = datetime.now(UTC)
    far = now + timedelta(hours=2)
    writing = 0.0
    for first in range(0, timers, BATCH):
        events = [
            (
                0,
                new_event(
                    TicketReceived(
                        channel="phone", category="repair", received_at=far + timedelta(milliseconds=37 * i)
                    ),
                    ticket_id=f"R-{i:07d}",
                    branch="default",
                    producer="bench",
                    correlation_id=f"R-{i:07d}",
                    occurred_at=now,
                ),
            )
            for i in range(first, min(timers, first + BATCH))
        ]
        touched = apply_batch(events, lambda _id: None, lambda branch: view_of(policies, branch))
        started = time.perf_counter()
        store.write({key.encode(): entry.ticket.to_bytes() for key, entry in touched.items()}, offset=first + BATCH)
        writing += time.perf_counter() - started
    return writing


async def rebuild(timers: int, workdir: Path) -> dict[str, Any]:
    policies = BranchPolicies()
    monitor = DirectMonitor(
        MonitorSettings(), "127.0.0.1:1", SystemClock(), policies, partitions=1, datadir=str(workdir)
    )
    store = monitor.timers.stores[0] = PartitionStore(workdir / "p0")
    load_before = load_average()
    writing = make_rows(store, timers, policies)
    result: dict[str, Any] = {
        "timers": timers,
        "write_rows_per_s": round(timers / writing, 1),
        "write_load_avg": [load_before, load_average()],
    }
    for attempt in ("first", "again"):  # the first also rewrites each row's bucket; again finds them in place
        load_before = load_average()
        started = time.perf_counter()
        count = await monitor._rebuild_index(0, store)
        seconds = time.perf_counter() - started
        result[f"rebuild_{attempt}"] = {
            "rows": count,
            "seconds": round(seconds, 3),
            "seconds_per_million": round(seconds * 1_000_000 / max(1, count), 1),
            "open_timers": monitor.index.state(0)["open"],
            "load_avg": [load_before, load_average()],
        }
    store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, default=20_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sla-direct-rebuild-"))
    try:
        result = asyncio.run(rebuild(args.timers, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.write(json.dumps({"scenario": "sla-direct-rebuild", **result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
