"""`hotline chaos`: the fault-injection suite on a private three-broker cluster (docs/operations/chaos.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from hotline.infra.console import log_to_stderr


def chaos(
    faults: Annotated[
        int, typer.Option("--faults", min=1, help="How many faults (20: the CI run; 100: the long one).")
    ] = 20,
    calls: Annotated[int, typer.Option("--calls", min=1, help="Calls the simulator's agents take meanwhile.")] = 60,
    gap: Annotated[float, typer.Option("--gap", min=0.5, help="Seconds between two process kills.")] = 6.0,
    pause: Annotated[float, typer.Option("--pause", min=1.0, help="Seconds a SIGSTOP lasts before SIGCONT.")] = 30.0,
    settle: Annotated[
        float, typer.Option("--settle", min=10.0, help="Most seconds to wait for the checks to hold.")
    ] = 180.0,
    seed: Annotated[int, typer.Option("--seed", help="The traffic plan's seed.")] = 1,
    folder: Annotated[
        Path | None, typer.Option("--folder", help="Where logs and data go (default: a new folder).")
    ] = None,
) -> None:
    """Kill, pause and restart processes, brokers and PostgreSQL under traffic; exit 1 unless 0 lost, 0 duplicated."""
    from hotline.chaos.report import summary_lines
    from hotline.chaos.run import ChaosOptions, run_chaos
    from hotline.infra.process import InfraError

    log_to_stderr()
    options = ChaosOptions(faults=faults, calls=calls, gap=gap, pause=pause, settle=settle, seed=seed, folder=folder)
    try:
        result = asyncio.run(run_chaos(options, lambda line: typer.echo(line, err=True)))
    except InfraError as error:
        typer.echo(f"hotline: error: the system under test could not start: {error}", err=True)
        raise typer.Exit(1) from None
    for line in summary_lines(result):
        typer.echo(line)
    if not result.ok:
        raise typer.Exit(1)
