"""The SLA monitor's settings (HOTLINE_SLA_*); what every service shares is `shared.runtime.ServiceSettings`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import Topic

SERVICE = "sla_monitor"
# Internal to this service: one message per partition per tick drives the due checks inside the stream.
TICK_TOPIC = "hotline.sla.ticks"


class MonitorSettings(BaseSettings):
    """SLA monitor settings, HOTLINE_SLA_<FIELD>; the topic names are overridable for tests and benchmarks."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_SLA_", extra="ignore")

    app_id: str = f"hotline-{SERVICE}"  # the consumer group id
    tickets_topic: str = Topic.TICKETS.value
    sla_topic: str = Topic.SLA.value
    notifications_topic: str = Topic.NOTIFICATIONS.value
    deadletter_topic: str = Topic.DEADLETTER.value
    tick_topic: str = TICK_TOPIC
    tick_interval: float = Field(default=0.2, gt=0)  # seconds between due checks
    bucket_seconds: float = Field(default=1.0, gt=0)  # width of a due-index bucket
    store: str = "rocksdb://"  # memory:// in unit tests
    # RocksDB per partition database: Faust's defaults (2 GiB block cache, 3 x 64 MiB memtables) are far too big
    rocksdb_block_cache_mb: int = Field(default=8, ge=1)
    rocksdb_write_buffer_mb: int = Field(default=4, ge=1)
    rocksdb_max_write_buffers: int = Field(default=2, ge=1)
    table_key_index_size: int = Field(default=10_000, ge=100)
    # warm copies of each partition's tables kept on other workers, so a failover does not rebuild (1 with 2+ pods)
    standby_replicas: int = Field(default=0, ge=0)
    # replicas of the changelog and tick topics the app creates (3 on a cluster; `hotline topics apply` too)
    replication_factor: int = Field(default=1, ge=1)
    session_timeout: float = 10.0
    heartbeat_interval: float = 1.0
    rebalance_timeout: float = 30.0
    commit_interval: float = 0.5
    # seconds a produced message may wait for others: every ticket event writes two or three changelog
    # messages, and with Faust's default (0) each became a produce request of its own
    producer_linger: float = Field(default=0.005, ge=0)
    # a batch of events writes thousands of changelog messages at once: large produce batches, compressed
    # (JSON timers shrink ~4x with lz4, which costs far less CPU than the bytes it saves the broker)
    producer_max_batch_size: int = Field(default=256 * 1024, ge=16 * 1024)
    producer_compression: str = "lz4"  # none, gzip, lz4, zstd, snappy
    # recovery: large fetches of the changelogs, written to RocksDB in large batches
    consumer_max_fetch_size: int = Field(default=4 * 1024 * 1024, ge=1024 * 1024)
    recovery_buffer_size: int = Field(default=10_000, ge=1)
    # events handled as one batch (each ticket and due bucket written once per batch), and the longest a batch
    # waits to fill up (it adds at most that much to a due check's start)
    batch_max: int = Field(default=2_000, ge=1)
    batch_within: float = Field(default=0.05, gt=0)
    max_due_window_minutes: int = 240  # the read API's horizon
