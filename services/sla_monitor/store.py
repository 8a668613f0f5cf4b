"""The SLA monitor's records: each ticket's timers as its table stores them, and the due-time index over them.

Both live in Faust tables (`services.sla_monitor.app`), partitioned like hotline.tickets: the timers by ticket
id, the index as "<partition>:<bucket>" -> the ids of tickets with something due in that bucket.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.policy import Category, ComplaintLevel, SlaClock
from shared.policy.escalation import is_urgent

# what a clock has already announced; each kind goes out at most once per ticket and clock
WARNED, BREACHED, TO_DIVISION, TO_CENTER = "w", "b", "d", "c"

BUCKET_SHARD = 64  # ticket ids per due-index entry


@dataclass
class ClockTimer:
    """One running (or stopped) clock of a ticket; instants are UTC epoch seconds to keep state small."""

    clock: SlaClock
    start: float
    deadline: float
    warn_at: float
    center_at: float  # RULES.md §8: one more full limit after the deadline
    limit: str  # the policy's limit as written ('5min', '3wd'), kept to re-apply it
    provisional: bool = False
    running: bool = True
    stopped_by: str | None = None  # the step that stopped it: 'returned' and 'replied' can be undone
    extended: bool = False
    emitted: str = ""  # letters of WARNED, BREACHED, TO_DIVISION, TO_CENTER

    def to_json(self) -> list[Any]:
        return [
            self.clock.value,
            self.start,
            self.deadline,
            self.warn_at,
            self.center_at,
            self.limit,
            self.provisional,
            self.running,
            self.stopped_by,
            self.extended,
            self.emitted,
        ]

    @classmethod
    def from_json(cls, raw: list[Any]) -> ClockTimer:
        return cls(SlaClock(raw[0]), *raw[1:])

    def next_due(self) -> float | None:
        """The next instant at which this clock owes an announcement, if any."""
        if not self.running:
            return None
        if BREACHED not in self.emitted:
            return self.warn_at if WARNED not in self.emitted else self.deadline
        if TO_CENTER not in self.emitted:
            return self.center_at
        return None


@dataclass
class TicketTimers:
    """Everything the monitor knows of one ticket: its classification, its unit and its clocks."""

    ticket_id: str
    branch: str
    category: Category
    partition: int = 0
    level: ComplaintLevel | None = None
    unit_id: str | None = None
    division_id: str | None = None
    closed: bool = False
    callback_mode: str = "required"
    callback_requested_at: float | None = None
    clocks: dict[SlaClock, ClockTimer] = field(default_factory=dict)
    indexed_bucket: int | None = None  # the due-index bucket this ticket is listed in
    center_id: str | None = None  # the branch's center as dispatch's org tree names it (RULES.md §8)
    external_deadline: float | None = None  # a 12345 task's stricter government deadline: caps every clock

    # -------------------------------------------------------------- storage

    def to_bytes(self) -> bytes:
        data = {
            "t": self.ticket_id,
            "b": self.branch,
            "k": self.category.value,
            "p": self.partition,
            "l": None if self.level is None else int(self.level),
            "u": self.unit_id,
            "d": self.division_id,
            "x": self.closed,
            "m": self.callback_mode,
            "r": self.callback_requested_at,
            "c": [timer.to_json() for timer in self.clocks.values()],
            "i": self.indexed_bucket,
            "cn": self.center_id,
            "g": self.external_deadline,
        }
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> TicketTimers:
        data = json.loads(raw)
        timers = [ClockTimer.from_json(item) for item in data["c"]]
        return cls(
            ticket_id=data["t"],
            branch=data["b"],
            category=Category(data["k"]),
            partition=data["p"],
            level=None if data["l"] is None else ComplaintLevel(data["l"]),
            unit_id=data["u"],
            division_id=data["d"],
            closed=data["x"],
            callback_mode=data["m"],
            callback_requested_at=data["r"],
            clocks={timer.clock: timer for timer in timers},
            indexed_bucket=data["i"],
            center_id=data.get("cn"),  # absent from timers stored before issue 13
            external_deadline=data.get("g"),
        )

    # -------------------------------------------------------------- queries

    @property
    def urgent(self) -> bool:
        """RULES.md §8: alarms and level-1 complaints go to the center at once."""
        return is_urgent(self.category, self.level)

    def running(self) -> list[ClockTimer]:
        return [timer for timer in self.clocks.values() if timer.running]

    def next_due(self) -> float | None:
        dues = [due for timer in self.clocks.values() if (due := timer.next_due()) is not None]
        return min(dues) if dues else None


def bucket_of(epoch: float, width: float = 1.0) -> int:
    """The due-index bucket of an instant: whole `width`-second slots."""
    return math.floor(epoch / width)


class DueIndex:
    """The due-time index and each partition's progress ({"cursor": last bucket checked, "open": running clocks}).

    `entries` and `states` are the Faust tables (plain dicts in tests); `on_saved(partition, open)` is told
    each time a partition's state is written (the open-timers gauge).
    """

    def __init__(self, entries: Any, states: Any, bucket_seconds: float, on_saved: Callable[[int, int], None]) -> None:
        self.entries = entries
        self.states = states
        self.bucket_seconds = bucket_seconds
        self.on_saved = on_saved
        # (partition, bucket) -> the entry being filled (rebuilt by probing after a restart)
        self._filling: dict[tuple[int, int], int] = {}

    @staticmethod
    def key(partition: int, bucket: int, shard: int = 0) -> bytes:
        # the partition is part of the key: every partition indexes its own tickets (memory store is one dict)
        return f"{partition}:{bucket}".encode() if shard == 0 else f"{partition}:{bucket}:{shard}".encode()

    # A busy second holds thousands of ids: one entry per second would rewrite (and send to the changelog)
    # the whole growing list on every append. Entries of BUCKET_SHARD ids each keep an append small:
    # "<p>:<b>", "<p>:<b>:1", "<p>:<b>:2", ... with no gap, the last one filling up.

    def buckets_in_use(self, partition: int, after: int, until: int) -> list[int]:
        """The buckets in (after, until] that hold an entry of this partition, in order."""
        prefix = f"{partition}:"
        found: set[int] = set()
        for key in list(self.entries.keys()):
            text = key.decode() if isinstance(key, bytes) else str(key)
            if text.startswith(prefix):
                bucket = int(text.split(":")[1])
                if after < bucket <= until:
                    found.add(bucket)
        return sorted(found)

    def ids(self, partition: int, bucket: int) -> list[str]:
        ids: list[str] = []
        shard = 0
        while (raw := self.entries.get(self.key(partition, bucket, shard))) is not None:
            ids.extend(json.loads(raw))
            shard += 1
        return ids

    def write(self, partition: int, bucket: int, ids: list[str]) -> None:
        """Replace a bucket's ids (none: drop it)."""
        chunks = [ids[i : i + BUCKET_SHARD] for i in range(0, len(ids), BUCKET_SHARD)]
        for shard, chunk in enumerate(chunks):
            self.entries[self.key(partition, bucket, shard)] = json.dumps(chunk).encode()
        shard = len(chunks)
        while self.entries.pop(self.key(partition, bucket, shard), None) is not None:
            shard += 1
        self._filling.pop((partition, bucket), None)

    def reindex(self, ticket: TicketTimers, partition: int, cursor: int | None) -> None:
        self.reindex_all([ticket], partition, cursor)

    def reindex_all(self, tickets: Iterable[TicketTimers], partition: int, cursor: int | None) -> None:
        """List each ticket in the bucket of its next due instant (after `cursor`); each bucket written once."""
        moves: dict[int, list[TicketTimers]] = {}
        for ticket in tickets:
            due = ticket.next_due()
            if due is None:
                ticket.indexed_bucket = None
                continue
            bucket = bucket_of(due, self.bucket_seconds)
            if cursor is not None and bucket <= cursor:
                bucket = cursor + 1  # overdue already: the next check takes it
            if ticket.indexed_bucket != bucket:
                moves.setdefault(bucket, []).append(ticket)
        for bucket, group in moves.items():
            self.add(group, partition, bucket)

    def add(self, tickets: list[TicketTimers], partition: int, bucket: int) -> None:
        """Append the tickets' ids to the bucket: the last entry filled up, then new ones, each written once."""
        shard = self._filling.get((partition, bucket), 0)  # a hint only: full entries are skipped
        if shard and self.key(partition, bucket, shard - 1) not in self.entries:
            shard = 0  # the bucket changed under the hint (a partition moved away and back): no gap allowed
        while True:
            raw = self.entries.get(self.key(partition, bucket, shard))
            ids: list[str] = json.loads(raw) if raw is not None else []
            if len(ids) < BUCKET_SHARD:
                break
            shard += 1
        pending = [ticket.ticket_id for ticket in tickets]
        while True:
            room = BUCKET_SHARD - len(ids)
            ids.extend(pending[:room])
            pending = pending[room:]
            self.entries[self.key(partition, bucket, shard)] = json.dumps(ids).encode()
            if not pending:
                break
            shard += 1
            raw = self.entries.get(self.key(partition, bucket, shard))  # none past a partly filled entry
            ids = json.loads(raw) if raw is not None else []
        self._filling[(partition, bucket)] = shard
        for ticket in tickets:
            ticket.indexed_bucket = bucket

    def state(self, partition: int) -> dict[str, Any]:
        raw = self.states.get(str(partition).encode())
        if raw is None:
            return {"cursor": None, "open": 0}
        state: dict[str, Any] = json.loads(raw)
        return state

    def save_state(self, partition: int, state: dict[str, Any]) -> None:
        self.states[str(partition).encode()] = json.dumps(state).encode()
        self.on_saved(partition, state["open"])
