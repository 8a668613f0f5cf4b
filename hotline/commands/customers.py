"""`hotline customers import FILE --branch B`: load the billing system's customer export into intake."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from services.intake.customer_import import ImportReport

app = typer.Typer(help="Intake's customer registry (screen pop, identity verification).", no_args_is_help=True)


def fail(argument: str, message: str) -> NoReturn:
    typer.echo(f"hotline: error: {argument}: {message}", err=True)
    raise typer.Exit(2)


@app.callback()
def customers() -> None:
    """Intake's customer registry (screen pop, identity verification)."""


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV: account_number,name,phone,address[,id_card_number,key_customer]")],
    branch: Annotated[str, typer.Option(help="branch code the customers belong to")],
    database_url: Annotated[
        str | None, typer.Option(help="intake's database (default: from HOTLINE_* settings)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Upsert customers by account number; rows that cannot be used are listed with their reasons."""
    from services.intake.customer_import import BadCsv
    from shared.branch_config import load_branch
    from shared.policy.branch import BranchConfigError
    from shared.runtime import ServiceSettings

    if not file.is_file():
        fail("FILE", f"{file} is not a file")
    try:
        load_branch(branch)
    except BranchConfigError as error:
        fail("--branch", str(error))
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail("FILE", "the export must be UTF-8 text")
    url = database_url or ServiceSettings().database_url_for("intake")
    try:
        report = asyncio.run(_import(url, branch, text))
    except BadCsv as error:
        fail("FILE", str(error))
    if as_json:
        body = {
            "branch": branch,
            "created": report.created,
            "updated": report.updated,
            "rejected": [
                {"line": r.line, "account_number": r.account_number, "reasons": list(r.reasons)}
                for r in report.rejected
            ],
        }
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        typer.echo(f"{branch}: {report.created} created, {report.updated} updated, {len(report.rejected)} rejected")
        for row in report.rejected:
            typer.echo(f"  line {row.line} ({row.account_number or 'no account'}): {'; '.join(row.reasons)}")
    if report.rejected:
        raise typer.Exit(1)


async def _import(url: str, branch: str, text: str) -> ImportReport:
    from services.intake.bootstrap import migrate
    from services.intake.customer_import import import_customers
    from shared.clock import SystemClock
    from shared.db import make_engine, make_sessions, transaction

    await asyncio.to_thread(migrate, url)
    engine = make_engine(url)
    try:
        async with transaction(make_sessions(engine)) as session:
            return await import_customers(session, branch, text, SystemClock().now())
    finally:
        await engine.dispose()
