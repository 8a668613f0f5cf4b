"""`hotline auth ...`: issue bearer tokens and create machine API keys, for ops and tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from shared.auth.roles import Role
from shared.auth.settings import AuthSettings
from shared.auth.tokens import hash_api_key, issue_token, new_api_key, parse_ttl

app = typer.Typer(help="Bearer tokens and API keys for the services' HTTP APIs.", no_args_is_help=True)


def fail(argument: str, message: str) -> NoReturn:
    """Bad input: one line on stderr naming the argument, nothing on stdout, exit status 2."""
    typer.echo(f"hotline: error: {argument}: {message}", err=True)
    raise typer.Exit(2)


def _settings() -> AuthSettings:
    try:
        return AuthSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail("configuration", str(first.get("msg", "invalid auth settings")).removeprefix("Value error, "))


@app.command("issue-token")
def issue_token_command(
    role: Annotated[str, typer.Option(help="one of: " + ", ".join(r.value for r in Role))],
    branch: Annotated[str, typer.Option(help="branch code the token is scoped to")],
    unit: Annotated[str | None, typer.Option(help="unit code (required for unit_handler)")] = None,
    division: Annotated[str | None, typer.Option(help="division code (required for division_supervisor)")] = None,
    ttl: Annotated[str, typer.Option(help="lifetime: 90s, 30m, 8h, 2d")] = "8h",
    subject: Annotated[str | None, typer.Option(help="who the token is for (audit subject)")] = None,
) -> None:
    """Print a signed token (HOTLINE_JWT_SECRET) for one role, branch and unit."""
    try:
        parsed_role = Role(role)
    except ValueError:
        fail("--role", f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}")
    try:
        lifetime = parse_ttl(ttl)
    except ValueError as exc:
        fail("--ttl", str(exc))
    settings = _settings()
    try:
        token = issue_token(
            settings,
            subject=subject or f"{parsed_role.value}@{branch}",
            role=parsed_role,
            branch=branch,
            unit=unit,
            division=division,
            ttl=lifetime,
            now=datetime.now(UTC),
        )
    except ValueError as exc:
        fail("token", str(exc))
    typer.echo(token)


@app.command("new-api-key")
def new_api_key_command(
    name: Annotated[str, typer.Option(help="client name, e.g. cti-nanning (audit subject)")],
    branch: Annotated[str, typer.Option(help="branch the client works for")],
) -> None:
    """Print a new random key (hand it to the client) and the HOTLINE_API_KEYS entry to configure."""
    key = new_api_key()
    typer.echo(f"key:    {key}")
    typer.echo(f'config: {{"name": "{name}", "branch": "{branch}", "sha256": "{hash_api_key(key)}"}}')
