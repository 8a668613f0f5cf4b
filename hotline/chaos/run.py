"""One fault-injection run: the system up, the simulator's people at work through the APIs, the faults one after
another, then the checks on the topics and the services, and the summary."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from hotline.chaos.checks import Verdict, check_timed, judge, read_all, timed_tickets, unique_events
from hotline.chaos.faults import EXCLUSIVE, Fault, Injector, KindFigures, Outcome, build_schedule, figures
from hotline.chaos.outbound import judge_outbound, subscribe
from hotline.chaos.system import ChaosSystem
from hotline.simulate.actors import Api, CallAgents, CallbackDesk, CenterDesk, Desk, Registry, SimTime, UnitDesk
from hotline.simulate.runner import CALLBACK_AGENTS, issue_tokens
from hotline.simulate.traffic import DAY_START, HOURLY_WEIGHTS, UNITS, plan_traffic
from shared.clock import ScaledClock

NANNING = ZoneInfo("Asia/Shanghai")
# a plain working Monday (no holiday): the callback day opens at 08:00 (RULES.md §5)
MONDAY = datetime(2026, 3, 9, tzinfo=NANNING)
DAY_HOURS = len(HOURLY_WEIGHTS)  # the plan's calls come over these hours from 08:00

Say = Callable[[str], None]


@dataclass(frozen=True)
class ChaosOptions:
    faults: int = 20
    calls: int = 60
    gap: float = 6.0  # seconds between two process kills (cluster faults wait for the previous ones)
    pause: float = 30.0  # SIGSTOP length
    warmup: float = 15.0  # traffic before the first fault
    settle: float = 180.0  # most seconds to wait, after the faults, for everything accepted to be handled
    startup: float = 600.0  # most seconds for each group (workers, then APIs) of the 26 processes to be ready
    recovery: float = 300.0  # most seconds for a fault's target to be whole again
    seed: int = 1
    folder: Path | None = None


@dataclass
class ChaosResult:
    verdict: Verdict
    outcomes: list[Outcome]
    kinds: list[KindFigures]
    placed: int
    refused: int
    statuses: dict[str, int]
    fault_seconds: float
    total_seconds: float
    startup_seconds: float
    load: tuple[float, float, float]
    load_before: tuple[float, float, float]
    processes: int
    failures: list[str] = field(default_factory=list)

    @property
    def recovered_all(self) -> bool:
        return all(o.recovery is not None for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return self.verdict.ok and self.recovered_all


def default_folder() -> Path:
    from shared.runtime import default_state_dir

    return default_state_dir() / "chaos" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


async def run_chaos(options: ChaosOptions, say: Say) -> ChaosResult:
    """Start everything, play traffic and faults, check, stop everything (whatever happens)."""
    begun = time.monotonic()
    load_before = os.getloadavg()
    folder = options.folder or default_folder()
    fault_span = options.warmup + options.faults * options.gap + options.faults / 7 * (options.pause + 30)
    speed = DAY_HOURS * 3600 / max(60.0, fault_span)
    epoch_real = datetime.now(UTC) + timedelta(seconds=options.startup / 3)
    system = ChaosSystem(folder, speed, epoch_real, MONDAY + DAY_START)
    say(f"folder {folder}; simulated clock x{speed:.0f}")
    try:
        say("starting a three-node Kafka cluster (RF 3, min ISR 2) and PostgreSQL")
        await asyncio.to_thread(system.start_servers)
        say(f"kafka {system.cluster.bootstrap}; starting {len(system.procs)} service processes")
        await asyncio.to_thread(system.start_processes, options.startup)
        await asyncio.to_thread(system.seed_customers)
        await asyncio.to_thread(subscribe, system.url("outbound"), system.secret, system.webhooks.url)
        startup_seconds = time.monotonic() - begun
        say(f"system ready in {startup_seconds:.0f} s")
        return await _play(system, options, speed, say, begun, startup_seconds, load_before)
    finally:
        say("stopping")
        await asyncio.to_thread(system.stop)


async def _play(
    system: ChaosSystem,
    options: ChaosOptions,
    speed: float,
    say: Say,
    begun: float,
    startup_seconds: float,
    load_before: tuple[float, float, float],
) -> ChaosResult:
    clock = ScaledClock(speed, system.epoch_real, system.epoch_simulated)
    sim = SimTime(clock, speed)
    tokens = issue_tokens(system.secret, datetime.now(UTC))
    plan = plan_traffic(options.calls, options.seed)
    registry = Registry()
    stop_traffic = asyncio.Event()
    stop_supervising = asyncio.Event()
    rng = random.Random(options.seed + 1)  # noqa: S311 - the people's seeded choices, not a secret

    async def supervise() -> None:
        while not stop_supervising.is_set():
            for line in await asyncio.to_thread(system.supervise):
                say(f"  supervisor: {line}")
            try:
                await asyncio.wait_for(stop_supervising.wait(), 0.5)
            except TimeoutError:
                pass

    supervising = asyncio.create_task(supervise())
    async with httpx.AsyncClient(timeout=30.0) as client:
        api = Api(client, tokens, 8, urls=system.urls())
        desks: list[Desk] = [UnitDesk(unit, api, sim, registry, rng) for unit in UNITS]
        desks.append(CenterDesk(api, sim, registry, rng))
        desks += [CallbackDesk(f"callback-{i}", api, sim, registry, rng) for i in range(1, CALLBACK_AGENTS + 1)]
        desk_tasks = [asyncio.create_task(desk.run(stop_traffic)) for desk in desks]
        # the plan's day counts from a midnight such that its first hour starts now
        day = sim.now() - DAY_START
        calls = asyncio.create_task(CallAgents(api, sim, registry, day).run(plan.calls, lambda: None))
        await asyncio.sleep(options.warmup)
        injector = Injector(system, pause_seconds=options.pause, recovery_timeout=options.recovery)
        schedule = build_schedule(options.faults, system.procs)
        faults_begun = time.monotonic()
        await _inject_all(injector, schedule, options.gap, say)
        fault_seconds = time.monotonic() - faults_begun
        say(f"{len(schedule)} faults in {fault_seconds:.0f} s; letting the calls of the day finish")
        try:
            await asyncio.wait_for(asyncio.shield(calls), timeout=max(5.0, options.settle / 3))
        except TimeoutError:
            calls.cancel()
        verdict = await _settle(system, registry, clock, options.settle, say)
        stop_traffic.set()
        await asyncio.gather(calls, *desk_tasks, return_exceptions=True)
    stop_supervising.set()
    await supervising
    return ChaosResult(
        verdict=verdict,
        outcomes=injector.outcomes,
        kinds=figures(injector.outcomes),
        placed=registry.placed,
        refused=registry.refused,
        statuses=dict(api.statuses),
        fault_seconds=fault_seconds,
        total_seconds=time.monotonic() - begun,
        startup_seconds=startup_seconds,
        load=os.getloadavg(),
        load_before=load_before,
        processes=len(system.procs),
        failures=list(api.failures),
    )


async def _inject_all(injector: Injector, schedule: list[Fault], gap: float, say: Say) -> None:
    """A fault every `gap` seconds; a cluster or database fault first waits for the previous one to be over."""
    running: list[asyncio.Task[Outcome]] = []
    exclusive: asyncio.Task[Outcome] | None = None

    def told(task: asyncio.Task[Outcome]) -> None:
        outcome = task.result()
        took = f"in {outcome.recovery:.1f} s" if outcome.recovery is not None else "NOT"
        say(f"  {outcome.fault.kind} {outcome.fault.target}: recovered {took} {outcome.note}".rstrip())

    for number, fault in enumerate(schedule, 1):
        if fault.kind in EXCLUSIVE and exclusive is not None:
            await exclusive
        say(f"fault {number}/{len(schedule)}: {fault.kind} {fault.target}")
        task = asyncio.create_task(injector.inject(fault))
        task.add_done_callback(told)
        running.append(task)
        if fault.kind in EXCLUSIVE:
            exclusive = task
        await asyncio.sleep(gap)
    await asyncio.gather(*running)


async def _settle(system: ChaosSystem, registry: Registry, clock: ScaledClock, within: float, say: Say) -> Verdict:
    """Judge the topics again and again until the verdict holds or `within` seconds pass: the last verdict."""
    deadline = time.monotonic() + within
    while True:
        events = await read_all(system.cluster.bootstrap)
        accepted = list(registry.calls)
        verdict = judge(events, accepted)
        check_timed(verdict, await timed_tickets(system.cluster.bootstrap))
        # a status SMS is owed once its quiet window is over, give or take the sender's poll (10 real seconds)
        owed_by = clock.now() - timedelta(seconds=10 * clock.speed)
        verdict.add_outbound(
            judge_outbound(unique_events(events), system.kannel.received(), system.webhooks.received, now=owed_by)
        )
        if verdict.ok or time.monotonic() >= deadline:
            from hotline.commands.deadletter import read_letters
            from shared.events import Topic

            letters = await read_letters(system.cluster.bootstrap, str(Topic.DEADLETTER))
            verdict.dead_letters = [
                f"{letter.name} {letter.record.consumer} {letter.record.reason}: {letter.record.error[:200]}"
                for letter in letters
            ]
            return verdict
        say(f"  waiting: lost so far {verdict.lost}, duplicated {verdict.duplicated}")
        await asyncio.sleep(10)
