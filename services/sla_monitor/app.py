"""The SLA monitor's Faust app: its three tables (co-partitioned with hotline.tickets) and its topics.

The worker (`services.sla_monitor.worker`) registers the one agent and the tick timer on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from services.sla_monitor.settings import MonitorSettings
from shared.events import Topic
from shared.streams import StreamApp


@dataclass
class SlaStreams:
    """The app, its tables and its topics (Faust's own objects, typed loosely as Faust types them)."""

    app: StreamApp
    timers_by_ticket: Any
    due_index: Any
    partition_state: Any
    source: Any  # hotline.tickets and the ticks, read by the one agent
    ticks: Any
    out: dict[Topic, Any]
    deadletters: Any


def build_streams(settings: MonitorSettings, kafka_bootstrap: str, *, partitions: int, datadir: str) -> SlaStreams:
    mb = 1024 * 1024
    app = StreamApp(
        settings.app_id,
        broker=f"kafka://{kafka_bootstrap}",
        store=settings.store,
        datadir=datadir,
        web_enabled=False,
        topic_partitions=partitions,
        topic_replication_factor=settings.replication_factor,
        table_standby_replicas=settings.standby_replicas,
        broker_commit_interval=settings.commit_interval,
        producer_linger=settings.producer_linger,
        producer_max_batch_size=settings.producer_max_batch_size,
        producer_compression_type=None if settings.producer_compression == "none" else settings.producer_compression,
        consumer_max_fetch_size=settings.consumer_max_fetch_size,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=settings.heartbeat_interval,
        broker_rebalance_timeout=settings.rebalance_timeout,
        consumer_auto_offset_reset="earliest",
        table_key_index_size=settings.table_key_index_size,
    )

    def rocks() -> dict[str, int]:
        # a fresh dict per table: Faust's store pops keys out of the mapping it is given
        return {
            "block_cache_size": settings.rocksdb_block_cache_mb * mb,
            "block_cache_compressed_size": mb,
            "write_buffer_size": settings.rocksdb_write_buffer_mb * mb,
            "max_write_buffer_number": settings.rocksdb_max_write_buffers,
            "target_file_size_base": 16 * mb,
            "max_open_files": 256,
        }

    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}

    def rocks_table(name: str, description: str) -> Any:
        return app.Table(
            name,
            partitions=partitions,
            options=rocks(),
            recovery_buffer_size=settings.recovery_buffer_size,
            key_type=bytes,
            value_type=bytes,
            help=description,
        )

    # Co-partitioned with hotline.tickets: a ticket's timers live in the partition of its events.
    timers_by_ticket = rocks_table("timers_by_ticket", "ticket id -> its clocks")
    # "<partition>:<bucket>" -> ticket ids with something due in that second: a tick reads only due buckets.
    due_index = rocks_table("due_index", "due bucket -> ticket ids")
    # "<partition>" -> {"cursor": last bucket fully checked, "open": running clocks}
    partition_state = rocks_table("partition_state", "per-partition progress")
    for table in (timers_by_ticket, due_index, partition_state):
        # Faust derives a table's codec from its types (json for bytes); our values are already encoded
        cast(Any, table).key_serializer = cast(Any, table).value_serializer = "raw"
    source = app.topic(settings.tickets_topic, settings.tick_topic, partitions=partitions, **raw)
    ticks = app.topic(settings.tick_topic, partitions=partitions, **raw)
    out = {
        Topic.SLA: app.topic(settings.sla_topic, **raw),
        Topic.NOTIFICATIONS: app.topic(settings.notifications_topic, **raw),
    }
    deadletters = app.topic(settings.deadletter_topic, **raw)
    return SlaStreams(app, timers_by_ticket, due_index, partition_state, source, ticks, out, deadletters)
