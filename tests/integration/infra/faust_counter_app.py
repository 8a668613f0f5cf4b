"""A Faust app run as a real worker process by the restart test: counts messages per key in a table.

Configured from the environment (FAUST_APP_ID, KAFKA_BOOTSTRAP, COUNTER_IN_TOPIC, COUNTER_OUT_TOPIC,
FAUST_DATADIR); run as `python -m tests.integration.infra.faust_counter_app worker`.
Every new count is also sent to the out topic so the test can see the table's state from outside.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator

import faust

IN_PARTITIONS = 2
log = logging.getLogger("counter")


def build_app() -> faust.App:
    app = faust.App(
        os.environ["FAUST_APP_ID"],
        broker=f"kafka://{os.environ['KAFKA_BOOTSTRAP']}",
        # Memory store: after a restart the table holds only what the changelog gives back.
        store="memory://",
        datadir=os.environ["FAUST_DATADIR"],
        web_enabled=False,
        topic_partitions=IN_PARTITIONS,
        topic_replication_factor=1,
        broker_commit_interval=0.5,
        # A killed worker's group membership must expire fast for the restarted one to join.
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=20.0,
        consumer_auto_offset_reset="earliest",
    )
    counts = app.Table("counts_by_key", default=int, partitions=IN_PARTITIONS)
    calls = app.topic(
        os.environ["COUNTER_IN_TOPIC"],
        key_serializer="raw",
        value_serializer="raw",
        partitions=IN_PARTITIONS,
    )
    totals = app.topic(os.environ["COUNTER_OUT_TOPIC"], key_serializer="raw", value_serializer="raw")

    @app.agent(calls)
    async def count_calls_per_key(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            name = (event.key or b"").decode()
            counts[name] += 1
            # In the worker's log, so a failed test shows which offsets this process handled.
            log.info(
                "counted %s=%d at partition %d offset %d",
                name,
                counts[name],
                event.message.partition,
                event.message.offset,
            )
            await totals.send(key=event.key, value=str(counts[name]).encode())
            yield None

    return app


if __name__ == "__main__":
    build_app().main()
