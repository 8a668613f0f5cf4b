"""`hotline simulate`: a seeded day of hotline traffic through the public APIs, then the SLA report."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hotline import system
from hotline.commands.system import StartedSystem, SystemStartError, start_system
from hotline.infra.console import log_to_stderr
from hotline.simulate.actors import SimTime
from hotline.simulate.output import render_report, write_events, write_report
from hotline.simulate.runner import (
    RunResult,
    first_morning,
    issue_tokens,
    last_simulated,
    now_utc,
    remember_simulated,
    run_simulation,
)
from hotline.simulate.traffic import BRANCH, plan_traffic
from shared.clock import clock_from_settings

console = Console(stderr=True)
# how much simulated time the start-up may take before the first call (real seconds x speed, at most 3 h)
STARTUP_REAL_SECONDS = 20.0


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"hotline: error: {message}", err=True)
    return typer.Exit(code)


def simulate(
    calls: Annotated[int, typer.Option("--calls", min=1, help="How many calls the day brings.")] = 500,
    speed: Annotated[float, typer.Option("--speed", help="Simulated seconds per real second.")] = 600.0,
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same traffic.")] = 1,
    days: Annotated[float, typer.Option("--days", min=0.1, help="Stop after this many simulated days.")] = 3.0,
    out: Annotated[Path, typer.Option("--out", help="Folder for the CSV files and the chart.")] = Path(
        "simulation-report"
    ),
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="HTTP requests in flight at most.")] = 16,
    postgres: Annotated[bool, typer.Option("--postgres", help="If it starts the system: PostgreSQL.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for a system it starts.")] = 240,
) -> None:
    """Drive a day of calls through the running system (or one it starts and stops), then print the SLA report."""
    if speed <= 0:
        raise _fail("--speed: must be positive", 2)
    log_to_stderr()
    from shared.branch_config import load_branch, load_calendar

    tz = load_branch(BRANCH).timezone
    plan = plan_traffic(calls, seed)
    running = system.running_system()
    clock_file = system.system_dir() / "simulation-clock.json"
    started: StartedSystem | None = None
    if running is not None:
        running_speed = float(running.clock.get("HOTLINE_CLOCK_SPEED", "1.0"))
        if abs(running_speed - speed) > 1e-9:
            typer.echo(
                f"hotline is running at speed {running_speed:g}, not {speed:g}: "
                f"run `hotline simulate --speed {running_speed:g}`, or `hotline down` first",
                err=True,
            )
            raise typer.Exit(2)
        clock_env, bootstrap = running.clock, running.kafka_bootstrap
        console.print(f"using the running system (since {running.started_at}, speed {running_speed:g})")
    else:
        lead = timedelta(seconds=min(3 * 3600, STARTUP_REAL_SECONDS * speed))
        after = max(filter(None, (now_utc(), last_simulated(clock_file))))
        start = first_morning(after, load_calendar(), tz) - lead
        local = start.astimezone(tz)
        console.print(f"starting the system at speed {speed:g}, simulated clock from {local:%a %Y-%m-%d %H:%M}")
        try:
            started = start_system(postgres=postgres, speed=speed, timeout=timeout, start=start, dev_hs256=True)
        except SystemStartError as error:
            raise _fail(str(error)) from None
        console.print(f"system ready in {started.ready_seconds:.1f} s")
        clock_env, bootstrap = started.state.clock, started.state.kafka_bootstrap
    clock = clock_from_settings(
        float(clock_env.get("HOTLINE_CLOCK_SPEED", "1.0")),
        clock_env.get("HOTLINE_CLOCK_EPOCH_REAL"),
        clock_env.get("HOTLINE_CLOCK_EPOCH_SIMULATED"),
    )
    secret = system.demo_secret(system.system_dir())
    mix = ", ".join(f"{k} {v}" for k, v in sorted(plan.by_category().items(), key=lambda kv: -kv[1]))
    console.print(f"{calls} calls, seed {seed}: {mix}")
    try:
        result = asyncio.run(
            run_simulation(
                plan,
                sim=SimTime(clock, speed),
                tokens=issue_tokens(secret, now_utc()),
                bootstrap=bootstrap,
                tz=tz,
                days=days,
                concurrency=concurrency,
                console=console,
            )
        )
    except KeyboardInterrupt:
        raise _fail("interrupted", 130) from None
    finally:
        remember_simulated(clock_file, clock.now())
        if started is not None:
            started.stop()
    _print_result(result)
    paths = [*write_report(result.report, out), write_events(result.events, out / "events.jsonl")]
    typer.echo(f"report written: {', '.join(str(p) for p in paths)}")
    if out / "chart.png" not in paths:
        typer.echo("no chart: matplotlib is not installed (pip install 'gas-hotline[report]')", err=True)


def closing_line(result: RunResult) -> str:
    """The run in one line, in the progress bars' own figures (calls taken N/N, tickets closed F/T)."""
    span = result.simulated_to - result.simulated_from
    return (
        f"calls taken {result.placed}/{result.planned} (refused {result.refused}); "
        f"tickets closed {result.finished}/{result.opened}; "
        f"{'all closed' if result.complete else 'horizon reached with tickets open'}; "
        f"{span.total_seconds() / 3600:.1f} simulated hours in {result.real_seconds:.0f} real seconds; "
        f"HTTP {dict(sorted(result.statuses.items()))}"
    )


def _print_result(result: RunResult) -> None:
    out = Console(width=None if sys.stdout.isatty() else 160)
    out.print(closing_line(result), highlight=False)
    for line in result.failures[:10]:
        out.print(f"  request problem: {line}", highlight=False, markup=False)
    render_report(result.report, out)
