"""`hotline reporting rebuild`: the reporting store again from the beginning of the topics, with a progress bar."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from services.reporting.rebuild import RebuildResult

app = typer.Typer(help="The reporting store: rebuild it from the topics.", no_args_is_help=True)


def fail(argument: str, message: str) -> NoReturn:
    typer.echo(f"hotline: error: {argument}: {message}", err=True)
    raise typer.Exit(2)


@app.callback()
def reporting() -> None:
    """The reporting store: rebuild it from the topics."""


@app.command()
def rebuild(
    into: Annotated[
        str | None,
        typer.Option(help="database URL of the fresh store (default: a new <state dir>/reporting-rebuild.db)"),
    ] = None,
) -> None:
    """Read hotline.tickets and hotline.sla from their beginning into a fresh store; point
    HOTLINE_REPORTING_DATABASE_URL at it to put it live (it holds what the live one holds)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from services.reporting.bootstrap import build_service
    from services.reporting.rebuild import NotAFreshStore
    from services.reporting.rebuild import rebuild as run_rebuild
    from shared.runtime import ServiceSettings

    settings = ServiceSettings()
    if into is None:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        target = settings.state_dir / "reporting-rebuild.db"
        target.unlink(missing_ok=True)
        into = f"sqlite+aiosqlite:///{target}"
    service = build_service(settings, database_url=into)
    topics = [service.reporting.tickets_topic, service.reporting.sla_topic]
    columns = (TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn(), TextColumn("events"), TimeElapsedColumn())
    with Progress(*columns) as bar:
        task = bar.add_task("rebuild", total=None)

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def go() -> RebuildResult:
            try:
                return await run_rebuild(service, topics, progress=show)
            finally:
                await service.close()

        try:
            result = asyncio.run(go())
        except NotAFreshStore as error:
            fail("--into", str(error))
        except RuntimeError as error:
            fail("topics", str(error))
    rate = result.events / result.seconds if result.seconds else 0.0
    typer.echo(
        f"rebuilt {result.tickets} tickets from {result.events} events in {result.seconds:.1f} s "
        f"({rate:.0f} events/s; {result.undecodable} undecodable) into {into.split('@')[-1]}"
    )
