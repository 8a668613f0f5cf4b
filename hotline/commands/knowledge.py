"""`hotline knowledge import FILE --branch B` and `hotline knowledge export`: the knowledge base's FAQ files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from services.knowledge.faq import FaqRow, ImportReport, Rejected

app = typer.Typer(
    help="The knowledge base: import an existing FAQ, export the published articles.", no_args_is_help=True
)


def fail(argument: str, message: str) -> NoReturn:
    typer.echo(f"hotline: error: {argument}: {message}", err=True)
    raise typer.Exit(2)


@app.callback()
def knowledge() -> None:
    """The knowledge base: import an existing FAQ, export the published articles."""


def _branch(code: str) -> None:
    from shared.branch_config import load_branch
    from shared.policy.branch import BranchConfigError

    try:
        load_branch(code)
    except BranchConfigError as error:
        fail("--branch", str(error))


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="a CSV file (title,body,category,...) or a folder of .md files")],
    branch: Annotated[str, typer.Option(help="branch code the articles belong to")],
    database_url: Annotated[str | None, typer.Option(help="knowledge's database (default: HOTLINE_* settings)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Publish every answer of the FAQ, or none of them when any row is rejected (the report says why)."""
    from services.knowledge.faq import BadFaq, read_faq
    from shared.runtime import ServiceSettings

    if not file.exists():
        fail("FILE", f"{file} does not exist")
    _branch(branch)
    try:
        rows = read_faq(file)
    except BadFaq as error:
        fail("FILE", str(error))
    url = database_url or ServiceSettings().database_url_for("knowledge")
    report = asyncio.run(_import(url, branch, rows))
    if as_json:
        body = {
            "branch": branch,
            "imported": report.imported,
            "rejected": [{"where": r.where, "title": r.title, "reasons": list(r.reasons)} for r in report.rejected],
        }
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        for row in report.rejected:
            typer.echo(f"  {row.where} ({row.title or 'no title'}): {'; '.join(row.reasons)}")
        if not report.rejected:
            typer.echo(f"{branch}: {len(report.imported)} articles imported and published")
    if report.rejected:
        fail("FILE", f"{len(report.rejected)} of {len(rows)} rows rejected; nothing was imported")


class _NothingImported(Exception):
    def __init__(self, report: ImportReport) -> None:
        super().__init__("rejected rows")
        self.report = report


async def _import(url: str, branch: str, rows: list[FaqRow | Rejected]) -> ImportReport:
    from services.knowledge.bootstrap import build_service, migrate
    from services.knowledge.faq import import_faq
    from services.knowledge.handlers import Context

    await asyncio.to_thread(migrate, url)
    service = build_service(database_url=url)
    try:
        ctx = Context(clock=service.clock, settings=service.knowledge, search=service.search, zone_of=service.zone_of)
        try:
            async with service.sessions() as session, session.begin():
                report = await import_faq(session, branch, rows, ctx)
                if report.rejected:
                    raise _NothingImported(report)  # rolls the whole import back
        except _NothingImported as refused:
            return refused.report
        return report
    finally:
        await service.close()


@app.command("export")
def export_command(
    branch: Annotated[str, typer.Option(help="branch code")] = "demo",
    out: Annotated[Path | None, typer.Option(help="write the CSV here (default: standard output)")] = None,
    database_url: Annotated[str | None, typer.Option(help="knowledge's database (default: HOTLINE_* settings)")] = None,
) -> None:
    """The live version of every published article, in the CSV columns `import` reads."""
    from shared.runtime import ServiceSettings

    _branch(branch)
    if out is not None and not out.parent.is_dir():
        fail("--out", f"{out.parent} is not a folder")
    url = database_url or ServiceSettings().database_url_for("knowledge")
    text = asyncio.run(_export(url, branch))
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{branch}: {max(text.count(chr(10)) - 1, 0)} rows written to {out}", err=True)


async def _export(url: str, branch: str) -> str:
    from services.knowledge.bootstrap import build_service, migrate
    from services.knowledge.faq import export_csv

    await asyncio.to_thread(migrate, url)
    service = build_service(database_url=url)
    try:
        async with service.sessions() as session:
            return await export_csv(session, branch)
    finally:
        await service.close()
