"""`hotline users add|list|disable|enable|reset-password|import`: the identity service's directory, from ops' shell."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.identity.handlers.common import Identity

app = typer.Typer(help="People who sign in: the identity service's directory.", no_args_is_help=True)
T = TypeVar("T")


def fail(argument: str, message: str) -> NoReturn:
    """Bad input: one line on stderr naming the argument, nothing on stdout, exit status 2."""
    typer.echo(f"hotline: error: {argument}: {' '.join(message.split())}", err=True)
    raise typer.Exit(2)


@app.callback()
def users() -> None:
    """People who sign in: the identity service's directory."""


def run_in_identity(database_url: str | None, work: Callable[[AsyncSession, Identity], Awaitable[T]]) -> T:
    """Migrate identity's database, then run `work` in one transaction (all or nothing)."""
    from services.identity.bootstrap import build, migrate
    from shared.db import transaction
    from shared.runtime import ServiceSettings

    settings = ServiceSettings()
    url = database_url or settings.database_url_for("identity")

    async def main() -> T:
        await asyncio.to_thread(migrate, url)
        service = build(settings, database_url=url)
        try:
            async with transaction(service.sessions) as session:
                return await work(session, service.identity)
        finally:
            await service.close()

    return asyncio.run(main())


DatabaseOption = Annotated[str | None, typer.Option(help="identity's database (default: from HOTLINE_* settings)")]


def _read_password(password_stdin: bool) -> str | None:
    if not password_stdin:
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        fail("--password-stdin", "no password on standard input")
    return line


@app.command("add")
def add(
    branch: Annotated[str, typer.Option(help="branch code the person works for")],
    username: Annotated[str, typer.Option(help="sign-in name, unique across branches")],
    role: Annotated[list[str], typer.Option(help="a role (repeat for several; the first is the default)")],
    unit: Annotated[str | None, typer.Option(help="unit code (unit_handler)")] = None,
    division: Annotated[str | None, typer.Option(help="division code (division_supervisor)")] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    phone: Annotated[str | None, typer.Option(help="work phone")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    must_change: Annotated[bool, typer.Option(help="the person must change the password at first sign-in")] = False,
    group_admin: Annotated[bool, typer.Option(help="an admin of every branch")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Create a person (exit 0), or one line naming the bad argument (exit 2)."""
    from pydantic import ValidationError

    from services.identity.handlers.common import cli_actor
    from services.identity.handlers.directory import BadInput, create_person
    from services.identity.schemas import PersonCreate

    password = _read_password(password_stdin)
    try:
        body = PersonCreate(
            branch=branch,
            username=username,
            display_name=name,
            phone=phone,
            roles=role,
            unit=unit,
            division=division,
            password=password,
            must_change_password=must_change,
            group_admin=group_admin,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "input"
        fail(f"--{'role' if field == 'roles' else field.replace('_', '-')}", str(first["msg"]))

    async def work(session: AsyncSession, ident: Identity) -> str:
        person = await create_person(session, ident, cli_actor(branch), body)
        return person.id

    try:
        run_in_identity(database_url, work)
    except BadInput as exc:
        first_field = exc.inputs[0]
        arg = {"roles": "role", "password": "password-stdin"}.get(first_field["field"], first_field["field"])
        fail(f"--{arg}", "; ".join(f["message"] for f in exc.inputs))
    typer.echo(f"{username}: created in branch {branch} with role(s) {', '.join(role)}")


@app.command("list")
def list_people(
    branch: Annotated[str, typer.Option(help="branch code")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON (phones masked)")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """The branch's people: username, roles, unit or division, active or disabled (phones masked)."""
    from services.identity import store
    from services.identity.handlers.directory import public

    async def work(session: AsyncSession, ident: Identity) -> list[dict[str, Any]]:
        return [public(p).model_dump(mode="json") for p in await store.people_of(session, branch)]

    rows = run_in_identity(database_url, work)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        scope = row["unit"] or row["division"] or "-"
        state = "active" if row["active"] else "disabled"
        typer.echo(f"{row['username']:<24} {','.join(row['roles']):<36} {scope:<12} {state:<8} {row['display_name']}")


def _with_person(username: str, database_url: str | None, act: Callable[..., Awaitable[None]]) -> None:
    from services.identity import store
    from services.identity.handlers.common import cli_actor

    async def work(session: AsyncSession, ident: Identity) -> bool:
        person = await store.person_by_username(session, username)
        if person is None:
            return False
        await act(session, ident, cli_actor(person.branch), person)
        return True

    if not run_in_identity(database_url, work):
        fail("--username", f"no person {username!r}")


@app.command("disable")
def disable(
    username: Annotated[str, typer.Option(help="who")],
    database_url: DatabaseOption = None,
) -> None:
    """Disable a person: sign-in refused, every refresh token revoked (access tokens die within 15 min)."""
    from services.identity.handlers.directory import set_active

    async def act(session: AsyncSession, ident: Identity, actor: Any, person: Any) -> None:
        await set_active(session, ident, actor, person, False)

    _with_person(username, database_url, act)
    typer.echo(f"{username}: disabled")


@app.command("enable")
def enable(username: Annotated[str, typer.Option(help="who")], database_url: DatabaseOption = None) -> None:
    """Enable a disabled person again."""
    from services.identity.handlers.directory import set_active

    async def act(session: AsyncSession, ident: Identity, actor: Any, person: Any) -> None:
        await set_active(session, ident, actor, person, True)

    _with_person(username, database_url, act)
    typer.echo(f"{username}: enabled")


@app.command("reset-password")
def reset_password(
    username: Annotated[str, typer.Option(help="who")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the temporary password")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Set a temporary password (read from stdin) that must be changed at the next sign-in."""
    from services.identity.handlers.directory import BadInput
    from services.identity.handlers.directory import reset_password as reset

    temporary = _read_password(password_stdin) if password_stdin else None
    if temporary is None:
        fail("--password-stdin", "the temporary password is read from standard input")

    async def act(session: AsyncSession, ident: Identity, actor: Any, person: Any) -> None:
        await reset(session, ident, actor, person, temporary)

    try:
        _with_person(username, database_url, act)
    except BadInput as exc:
        fail("--password-stdin", "; ".join(f["message"] for f in exc.inputs))
    typer.echo(f"{username}: temporary password set; it must be changed at the next sign-in")


@app.command("import")
def import_people(
    file: Annotated[Path, typer.Argument(help="CSV: username,display_name,roles,unit,division,phone")],
    branch: Annotated[str, typer.Option(help="branch code the people belong to")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Import HR's list: all rows or none; every bad row is reported with its line number (exit 1)."""
    from services.identity.handlers.common import cli_actor
    from services.identity.handlers.directory import BadInput, ImportReport
    from services.identity.handlers.directory import import_people as do_import

    if not file.is_file():
        fail("FILE", f"{file} is not a file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail("FILE", "the list must be UTF-8 text")

    async def work(session: AsyncSession, ident: Identity) -> ImportReport:
        return await do_import(session, ident, cli_actor(branch), branch, text)

    try:
        report = run_in_identity(database_url, work)
    except BadInput as exc:
        fail("FILE", exc.inputs[0]["message"])
    if as_json:
        rejected = [{"line": r.line, "username": r.username, "reasons": list(r.reasons)} for r in report.rejected]
        typer.echo(json.dumps({"branch": branch, "created": report.created, "rejected": rejected}, ensure_ascii=False))
    else:
        typer.echo(f"{branch}: {report.created} created, {len(report.rejected)} rejected")
        for row in report.rejected:
            typer.echo(f"  line {row.line} ({row.username or 'no username'}): {'; '.join(row.reasons)}")
    if report.rejected:
        raise typer.Exit(1)
