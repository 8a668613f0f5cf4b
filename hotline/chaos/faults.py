"""The schedule of faults, their injection, and how long the system takes to be whole again after each.

Kinds: kill -9 of a worker or an API process (its supervisor restarts it), kill -9 of one broker then its restart
(`kill_broker`; `kill_controller` picks the active KRaft controller), SIGSTOP of a process or a broker for a while
then SIGCONT (`pause`), a PostgreSQL restart, and a partition reassignment. Recovery time is measured from the
moment the fault is lifted (the kill itself, the broker's restart, SIGCONT, PostgreSQL's start, the reassignment
request) until the target is whole again: the process answers ready on its own port, the broker is back in the
cluster with every replica in sync, every process is ready after PostgreSQL's restart, the reassignment is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from hotline.chaos.system import PRODUCT_TOPICS, ChaosSystem, Proc
from hotline.infra.cluster import NODES

KINDS = ("kill_worker", "kill_api", "kill_broker", "kill_controller", "pause", "postgres_restart", "reassign")
# kinds that touch the brokers or the database: never two of them at once (two brokers down is below min ISR)
EXCLUSIVE = frozenset({"kill_broker", "kill_controller", "pause", "postgres_restart", "reassign"})


@dataclass(frozen=True)
class Fault:
    kind: str
    target: str  # a process name, "broker-N", "controller", "postgres" or a topic partition


@dataclass
class Outcome:
    fault: Fault
    injected_at: float
    lifted_at: float | None = None
    whole_at: float | None = None
    note: str = ""

    @property
    def recovery(self) -> float | None:
        if self.lifted_at is None or self.whole_at is None:
            return None
        return self.whole_at - self.lifted_at


def build_schedule(count: int, procs: list[Proc]) -> list[Fault]:
    """`count` faults: first one of every kind and of every process, then rounds again, broker faults spread out.

    Every worker and API process is killed once before any is killed twice; the brokers are killed in turn (the
    controller among them), pauses alternate between a worker, an API and a broker.
    """
    # first copy 1 of every service, then copy 2: a short run kills a process of every service; its seven worker
    # kills go first to the workers with side effects (identity's, a directory sync, is the eighth)
    ordered = sorted(procs, key=lambda p: p.copy)
    workers = [p.name for p in sorted(ordered, key=lambda p: (p.copy, _worker_rank(p.spec.service))) if p.kind != "api"]
    apis = [p.name for p in ordered if p.kind == "api"]
    rounds = _round_robin(
        {
            "kill_worker": workers,
            "kill_api": apis,
            "kill_broker": [f"broker-{i}" for i in range(1, NODES + 1)],
            "kill_controller": ["controller"],
            "pause": [workers[0], "broker-2", apis[0], "broker-3", workers[-1], apis[-1]],
            "postgres_restart": ["postgres"],
            "reassign": [f"{PRODUCT_TOPICS[0]}:{p}" for p in range(6)],
        }
    )
    # a round of 20: a cluster or database fault after every three process kills
    pattern = (
        *("kill_worker", "kill_api", "kill_controller"),
        *("kill_worker", "kill_api", "kill_worker", "pause"),
        *("kill_api", "kill_worker", "kill_api", "postgres_restart"),
        *("kill_worker", "kill_api", "kill_worker", "kill_broker"),
        *("kill_api", "kill_worker", "kill_api", "reassign", "kill_worker"),
    )
    schedule: list[Fault] = []
    while len(schedule) < count:
        for kind in pattern:
            if len(schedule) == count:
                break
            schedule.append(Fault(kind, next(rounds[kind])))
    return schedule


WORKER_ORDER = ("sla_monitor", "outbound", "dispatch", "callback", "intake", "reporting", "knowledge")


def _worker_rank(service: str) -> int:
    return WORKER_ORDER.index(service) if service in WORKER_ORDER else len(WORKER_ORDER)


def _round_robin(targets: dict[str, list[str]]) -> dict[str, Iterator[str]]:
    def cycle(items: list[str]) -> Iterator[str]:
        while True:
            yield from items

    return {kind: cycle(items) for kind, items in targets.items()}


@dataclass
class Injector:
    """Injects faults into a running ChaosSystem; `pause_seconds` is how long SIGSTOP lasts."""

    system: ChaosSystem
    pause_seconds: float = 30.0
    broker_down_seconds: float = 5.0
    recovery_timeout: float = 300.0
    outcomes: list[Outcome] = field(default_factory=list)

    def proc(self, name: str) -> Proc:
        return next(p for p in self.system.procs if p.name == name)

    async def inject(self, fault: Fault) -> Outcome:
        """Inject `fault`, lift it, and wait until its target is whole again (or the recovery timeout)."""
        outcome = Outcome(fault, time.monotonic())
        self.outcomes.append(outcome)
        try:
            await getattr(self, f"_{fault.kind}")(fault, outcome)
        except Exception as error:  # a fault that could not be injected or recovered is reported, not fatal
            outcome.note = f"{type(error).__name__}: {error}"
        return outcome

    # ------------------------------------------------------------------ processes

    async def _kill_worker(self, fault: Fault, outcome: Outcome) -> None:
        await self._kill_process(fault, outcome)

    async def _kill_api(self, fault: Fault, outcome: Outcome) -> None:
        await self._kill_process(fault, outcome)

    async def _kill_process(self, fault: Fault, outcome: Outcome) -> None:
        proc = self.proc(fault.target)
        pid = self.system.pid(proc)
        if pid is None:
            outcome.note = "not running when its turn came"
            outcome.lifted_at = time.monotonic()
        else:
            os.kill(pid, signal.SIGKILL)
            outcome.lifted_at = time.monotonic()
        await self._until(outcome, lambda: self.system.pid(proc) not in (None, pid) and not self._late([proc]))

    async def _pause(self, fault: Fault, outcome: Outcome) -> None:
        if fault.target.startswith("broker-"):
            node = int(fault.target.split("-")[1])
            pid = self.system.cluster.pid(node)
            procs: list[Proc] = []
        else:
            procs = [self.proc(fault.target)]
            pid = self.system.pid(procs[0])
        if pid is None:
            raise RuntimeError(f"{fault.target} is not running")
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(self.pause_seconds)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        outcome.lifted_at = time.monotonic()
        if procs:
            await self._until(outcome, lambda: not self._late(procs))
        else:
            await self._until(outcome, self._cluster_whole)

    # ------------------------------------------------------------------ brokers

    async def _kill_broker(self, fault: Fault, outcome: Outcome) -> None:
        await self._broker_down(int(fault.target.split("-")[1]), outcome)

    async def _kill_controller(self, fault: Fault, outcome: Outcome) -> None:
        node = await asyncio.to_thread(self.system.cluster.controller)
        outcome.note = f"controller was node {node}"
        await self._broker_down(node, outcome)

    async def _broker_down(self, node: int, outcome: Outcome) -> None:
        cluster = self.system.cluster
        await asyncio.to_thread(cluster.kill, node)
        await asyncio.sleep(self.broker_down_seconds)
        # recovery counts from the relaunch: the node's own start (log recovery, catching up) is part of it
        await asyncio.to_thread(cluster.restart, node, False)
        outcome.lifted_at = time.monotonic()
        await self._until(outcome, self._cluster_whole)

    def _cluster_whole(self) -> bool:
        cluster = self.system.cluster
        return len(cluster.brokers_up()) == NODES and cluster.wait_full_isr(PRODUCT_TOPICS, 0.1)

    async def _reassign(self, fault: Fault, outcome: Outcome) -> None:
        from hotline.chaos.reassign import reassign_rotating

        topic, partition = fault.target.rsplit(":", 1)
        before, after = await reassign_rotating(self.system.cluster.bootstrap, topic, int(partition))
        outcome.note = f"replicas {before} -> {after}"
        outcome.lifted_at = time.monotonic()
        await self._until(outcome, self._cluster_whole)

    # ------------------------------------------------------------------ database

    async def _postgres_restart(self, fault: Fault, outcome: Outcome) -> None:
        postgres = self.system.postgres
        await asyncio.to_thread(postgres.stop)
        await asyncio.to_thread(postgres.start)
        outcome.lifted_at = time.monotonic()
        await self._until(outcome, lambda: not self._late(self.system.procs))

    # ------------------------------------------------------------------ waiting

    def _late(self, procs: list[Proc]) -> list[str]:
        return self.system.not_ready(procs)

    async def _until(self, outcome: Outcome, whole: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.recovery_timeout
        while time.monotonic() < deadline:
            if await asyncio.to_thread(whole):
                outcome.whole_at = time.monotonic()
                return
            await asyncio.sleep(0.5)
        late = await asyncio.to_thread(self.system.not_ready)
        why = "; ".join([self.system.why_not_ready(self.proc(name)) for name in late][:4])
        outcome.note = (outcome.note + "; " if outcome.note else "") + f"not whole within the recovery timeout ({why})"


@dataclass(frozen=True)
class KindFigures:
    kind: str
    injected: int
    recovered: int
    p50: float | None
    most: float | None


def figures(outcomes: list[Outcome]) -> list[KindFigures]:
    rows: list[KindFigures] = []
    for kind in KINDS:
        mine = [o for o in outcomes if o.fault.kind == kind]
        if not mine:
            continue
        times = [o.recovery for o in mine if o.recovery is not None]
        rows.append(
            KindFigures(
                kind, len(mine), len(times), statistics.median(times) if times else None, max(times) if times else None
            )
        )
    return rows
