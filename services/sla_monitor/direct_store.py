"""The direct engine's local state: one RocksDB (rocksdict) per partition, written once per batch (issue 20).

A partition's database holds its tickets' timers (ticket id -> `TicketTimers.to_bytes()`) and two markers written
in the same `WriteBatch` as the rows: the next hotline.tickets offset to read (so a restart on the kept volume
resumes exactly where the rows stand) and the next changelog offset already applied (so a rebuild reads only
what this node has not written or seen). Meta keys start with a NUL byte; ticket ids never do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from aiokafka.partitioner import murmur2
from rocksdict import Options, Rdict, WriteBatch

OFFSET_KEY = b"\x00offset"  # next hotline.tickets offset to read; also sent to the changelog with each batch
CHANGELOG_KEY = b"\x00changelog"  # local only: next changelog offset already in this database
_FIRST_ROW = b"\x01"


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives `key` (murmur2, as aiokafka and the Java client do)."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


class PartitionStore:
    """One partition's RocksDB: the rows and the two offsets, always written together."""

    def __init__(self, path: Path, *, write_buffer_mb: int = 4, block_cache_mb: int = 8) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_write_buffer_size(write_buffer_mb * 1024 * 1024)
        options.optimize_for_point_lookup(block_cache_mb)
        self.db = Rdict(str(path), options=options)

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self.db.get(key)
        return value

    def rows(self) -> Iterator[tuple[bytes, bytes]]:
        """Every ticket row (the meta keys sort before them)."""
        for key, value in self.db.items(from_key=_FIRST_ROW):
            assert isinstance(key, bytes)  # raw mode
            yield key, value

    def _int(self, key: bytes) -> int | None:
        raw = self.db.get(key)
        return None if raw is None else int(raw)

    def offset(self) -> int | None:
        return self._int(OFFSET_KEY)

    def changelog_offset(self) -> int:
        return self._int(CHANGELOG_KEY) or 0

    def write(
        self, rows: dict[bytes, bytes], *, offset: int | None = None, changelog_offset: int | None = None
    ) -> None:
        """One atomic write: the rows and, when given, the offsets they stand for."""
        batch = WriteBatch(raw_mode=True)
        for key, value in rows.items():
            batch.put(key, value)
        if offset is not None:
            batch.put(OFFSET_KEY, str(offset).encode())
        if changelog_offset is not None:
            batch.put(CHANGELOG_KEY, str(changelog_offset).encode())
        self.db.write(batch)

    def close(self) -> None:
        self.db.close()


class PartitionTimers:
    """The timers of the partitions this worker holds, as the core reads and writes them (`timers_by_ticket`).

    Writes go to the partition being processed (`current`, set by the engine) and wait in memory until the engine
    writes that partition's batch; reads see them first. A read outside processing (the API) finds a ticket in
    the partition its id hashes to.
    """

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self.stores: dict[int, PartitionStore] = {}
        self.pending: dict[int, dict[bytes, bytes]] = {}
        self.current: int | None = None

    def _where(self, key: bytes) -> list[int]:
        hashed = kafka_partition(key, self.partitions)
        return [hashed] if self.current in (None, hashed) else [self.current, hashed]

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:
        for partition in self._where(key):
            value = self.pending.get(partition, {}).get(key)
            if value is None and (store := self.stores.get(partition)) is not None:
                value = store.get(key)
            if value is not None:
                return value
        return default

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if self.current is None:
            raise RuntimeError("a timer written outside a partition's processing")
        self.pending.setdefault(self.current, {})[key] = value

    def values(self) -> Iterator[bytes]:
        """The current partition's rows, with what its batch changed so far."""
        if self.current is None:
            return
        pending = self.pending.get(self.current, {})
        store = self.stores.get(self.current)
        if store is not None:
            for key, value in store.rows():
                if key not in pending:
                    yield value
        yield from pending.values()

    def take(self, partition: int) -> dict[bytes, bytes]:
        """The rows the partition's batch changed (and forget them: the engine writes them now)."""
        return self.pending.pop(partition, {})
