"""The direct engine's local state (rocksdict on a temp folder, no broker): rows and offsets written together and
kept across a reopen, meta keys never read as rows, and a batch's writes seen before they are written."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from services.sla_monitor.direct_store import PartitionStore, PartitionTimers, kafka_partition


def test_rows_and_offsets_are_written_together_and_kept_across_a_reopen(tmp_path: Path) -> None:
    store = PartitionStore(tmp_path / "p0")
    assert store.offset() is None and store.changelog_offset() == 0
    store.write({b"T-1": b"one", b"T-2": b"two"}, offset=42, changelog_offset=7)
    store.write({b"T-1": b"one again"})  # rows only: the offsets stay
    store.close()
    reopened = PartitionStore(tmp_path / "p0")
    assert reopened.offset() == 42
    assert reopened.changelog_offset() == 7
    assert dict(reopened.rows()) == {b"T-1": b"one again", b"T-2": b"two"}  # no offset marker among the rows
    reopened.close()


def test_a_batch_is_read_before_it_is_written_and_taken_once(tmp_path: Path) -> None:
    timers = PartitionTimers(partitions=4)
    partition = kafka_partition(b"T-9", 4)
    timers.stores[partition] = store = PartitionStore(tmp_path / "p")
    store.write({b"T-9": b"stored"})
    assert timers.get(b"T-9") == b"stored"  # outside processing: the partition the id hashes to
    timers.current = partition
    timers[b"T-9"] = b"changed"
    timers[b"T-10"] = b"new"
    assert timers.get(b"T-9") == b"changed"
    assert sorted(timers.values()) == [b"changed", b"new"]
    assert timers.take(partition) == {b"T-9": b"changed", b"T-10": b"new"}
    assert timers.take(partition) == {}
    assert timers.get(b"T-9") == b"stored"  # taken, not written: the engine writes it
    store.close()


def test_a_write_outside_a_partitions_processing_is_refused() -> None:
    timers = PartitionTimers(partitions=2)
    with pytest.raises(RuntimeError):
        timers[b"T-1"] = b"x"


def test_partition_of_a_key_is_kafkas_default() -> None:
    # an API read finds a ticket in the partition its events went to: the producers' partitioner decides it
    for key in (b"T-1", b"TK-20261202-000123", b"\xe5\x8c\x97"):
        assert kafka_partition(key, 6) == DefaultPartitioner()(key, list(range(6)), list(range(6)))
