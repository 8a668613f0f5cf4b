"""One simulation run: the people play the plan against a running system while a bystander reads the topics."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hotline.simulate.actors import (
    CALL_AGENTS,
    Api,
    CallAgents,
    CallbackDesk,
    CenterDesk,
    Desk,
    Registry,
    SimTime,
    UnitDesk,
)
from hotline.simulate.observer import Observer
from hotline.simulate.report import Report, build_report
from hotline.simulate.traffic import BRANCH, DAY_START, UNITS, TrafficPlan
from shared.events import Event, Payload
from shared.policy.calendar import WorkingDayCalendar

CALLBACK_AGENTS = 3
# events still on their way when the last ticket closed (the SLA monitor's last ticks, the relays)
SETTLE_SECONDS = 3.0


@dataclass
class RunResult:
    report: Report
    placed: int
    refused: int
    planned: int
    finished: int
    real_seconds: float
    simulated_from: datetime
    simulated_to: datetime
    statuses: dict[str, int]
    failures: list[str] = field(default_factory=list)
    events: list[Event[Payload]] = field(default_factory=list)
    undecodable: int = 0
    complete: bool = True  # every ticket closed before the horizon

    @property
    def opened(self) -> int:
        """Tickets the placed calls opened (the progress bar's total of closed tickets)."""
        return self.placed - self.refused


def first_morning(real_now: datetime, calendar: WorkingDayCalendar, tz: ZoneInfo) -> datetime:
    """08:00 local on the next working day (today's, when the day has not begun yet)."""
    local = real_now.astimezone(tz)
    day: date = local.date() if local.hour < 7 else local.date() + timedelta(days=1)
    for _ in range(30):
        if calendar.is_working_day(day):
            break
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz) + DAY_START


def last_simulated(path: Path) -> datetime | None:
    """Where the previous run's simulated clock stopped (its data and timers live on in the system's folder)."""
    try:
        value = json.loads(path.read_text())["simulated_until"]
        return datetime.fromisoformat(value)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember_simulated(path: Path, instant: datetime) -> None:
    """Record the simulated instant reached, so the next run starts after it: time never runs backwards
    for the services' stored tickets and timers (the SLA monitor checks only forwards from its cursor)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"simulated_until": instant.isoformat()}))


def coverage_line(start: datetime, end: datetime, days: float, speed: float) -> str:
    """What the run will cover, said before it starts: the simulated hours and at most how long it takes."""
    hours = (end - start).total_seconds() / 3600
    real_minutes = hours * 3600 / speed / 60
    return (
        f"covers at most {hours:.1f} simulated hours (--days {days:g} from the first call): "
        f"{start:%a %d %b %H:%M} to "
        f"{end:%a %d %b %H:%M}, less if every ticket closes sooner; at most {real_minutes:.1f} real minutes "
        f"at speed {speed:g}"
    )


def horizon_of(simulated_now: datetime, tz: ZoneInfo, days: float) -> datetime:
    """When a run started at `simulated_now` stops at the latest: `days` after its first call slot."""
    return day_origin(simulated_now, tz) + DAY_START + timedelta(days=days)


def day_origin(simulated_now: datetime, tz: ZoneInfo) -> datetime:
    """The midnight the plan's call times count from: today's, or earlier so the first call comes now."""
    local = simulated_now.astimezone(tz)
    midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
    return midnight if local <= midnight + DAY_START else local - DAY_START


def issue_tokens(secret: str, now: datetime, ttl: timedelta = timedelta(hours=12)) -> dict[str, str]:
    """The simulation's people, each with a token of the demo branch signed with the demo secret."""
    from shared.auth.roles import Role
    from shared.auth.settings import AuthSettings
    from shared.auth.tokens import issue_token

    settings = AuthSettings(jwt_secret=secret)  # type: ignore[arg-type]

    def token(subject: str, role: Role, unit: str | None = None) -> str:
        return issue_token(settings, subject=subject, role=role, branch=BRANCH, now=now, ttl=ttl, unit=unit)

    tokens = {f"agent-{i}": token(f"sim-agent-{i}", Role.AGENT) for i in range(1, CALL_AGENTS + 1)}
    tokens |= {f"callback-{i}": token(f"sim-callback-{i}", Role.AGENT) for i in range(1, CALLBACK_AGENTS + 1)}
    tokens["center"] = token("sim-center", Role.CENTER_SUPERVISOR)
    tokens |= {f"unit:{unit}": token(f"sim-handler-{unit}", Role.UNIT_HANDLER, unit) for unit in UNITS}
    return tokens


async def run_simulation(
    plan: TrafficPlan,
    *,
    sim: SimTime,
    tokens: Mapping[str, str],
    bootstrap: str,
    tz: ZoneInfo,
    days: float,
    concurrency: int,
    console: Console,
) -> RunResult:
    """Play `plan` from the next call slot until every ticket is closed or `days` simulated days have passed."""
    begun = time.monotonic()
    observer = Observer(bootstrap)
    await observer.start()
    observing = asyncio.Event()
    observer_task = asyncio.create_task(observer.run(observing))
    day = day_origin(sim.now(), tz)
    simulated_from = sim.now()
    horizon = horizon_of(simulated_from, tz, days)
    console.print(
        coverage_line(simulated_from.astimezone(tz), horizon.astimezone(tz), days, sim.speed), highlight=False
    )
    rng = random.Random(plan.seed + 1)
    registry = Registry()
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    complete = False
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        api = Api(client, tokens, concurrency)
        desks: list[Desk] = [UnitDesk(unit, api, sim, registry, rng) for unit in UNITS]
        desks.append(CenterDesk(api, sim, registry, rng))
        desks += [CallbackDesk(f"callback-{i}", api, sim, registry, rng) for i in range(1, CALLBACK_AGENTS + 1)]
        desk_tasks = [asyncio.create_task(desk.run(stop)) for desk in desks]
        columns = (
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            calls_bar = progress.add_task("calls taken", total=len(plan.calls), info="")
            closed_bar = progress.add_task("tickets closed", total=len(plan.calls), info="")
            agents = CallAgents(api, sim, registry, day)
            calls_task = asyncio.create_task(agents.run(plan.calls, lambda: progress.advance(calls_bar)))
            while True:
                ours = registry.calls.keys()
                finished = sum(1 for t in ours if t in observer.finished)
                now = sim.now()
                progress.update(calls_bar, info=f"simulated {now.astimezone(tz):%a %d %b %H:%M}", refresh=False)
                progress.update(
                    closed_bar,
                    completed=finished,
                    total=max(1, registry.placed - registry.refused),
                    info=f"{len(observer.events)} events seen",
                )
                if calls_task.done() and finished >= len(ours):
                    complete = True
                    break
                if now >= horizon:
                    break
                await asyncio.sleep(0.5)
            stopped_at = min(sim.now(), horizon)  # the span covered: the settling below only gathers events
            stop.set()
            if not calls_task.done():
                calls_task.cancel()
            await asyncio.gather(calls_task, *desk_tasks, return_exceptions=True)
            await asyncio.sleep(SETTLE_SECONDS)
            observing.set()
            await observer_task
            # the bars' last state is the result's: the closing lines repeat exactly these figures
            finished = sum(1 for t in registry.calls if t in observer.finished)
            progress.update(calls_bar, completed=registry.placed, info="", refresh=False)
            progress.update(
                closed_bar,
                completed=finished,
                total=max(1, registry.placed - registry.refused),
                info=f"{len(observer.events)} events seen",
                refresh=True,
            )
    return RunResult(
        report=build_report(observer.events),
        placed=registry.placed,
        refused=registry.refused,
        planned=len(plan.calls),
        finished=finished,
        real_seconds=time.monotonic() - begun,
        simulated_from=simulated_from,
        simulated_to=stopped_at,
        statuses=dict(api.statuses),
        failures=list(api.failures),
        undecodable=observer.undecodable,
        complete=complete,
        events=observer.events,
    )


def now_utc() -> datetime:
    return datetime.now(UTC)
