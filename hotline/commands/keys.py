"""`hotline keys create|list|rotate|revoke`: machine clients' API keys kept (hashed) by the identity service."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hotline.commands.users import DatabaseOption, fail, run_in_identity

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.identity.handlers.common import Identity

app = typer.Typer(help="Machine clients' API keys (12345 gateway, telephony adapters, the callback service).")


@app.callback()
def keys() -> None:
    """Machine clients' API keys (12345 gateway, telephony adapters, the callback service)."""


@app.command("create")
def create(
    branch: Annotated[str, typer.Option(help="branch the client works for")],
    client: Annotated[str, typer.Option(help="client name, e.g. gateway-12345 (the audit subject)")],
    scope: Annotated[list[str], typer.Option(help="a scope (repeat for several), e.g. tickets:create")],
    database_url: DatabaseOption = None,
) -> None:
    """Print a new key once (only its hash is kept); the client trades it at POST /api/v1/auth/token."""
    from pydantic import ValidationError

    from services.identity.handlers.common import cli_actor
    from services.identity.handlers.machines import create_key
    from services.identity.schemas import ApiKeyCreate

    try:
        body = ApiKeyCreate(branch=branch, client=client, scopes=scope)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"--{'scope' if first['loc'][0] == 'scopes' else first['loc'][0]}", str(first["msg"]))

    async def work(session: AsyncSession, ident: Identity) -> Any:
        return await create_key(session, ident, cli_actor(branch), body)

    issued = run_in_identity(database_url, work)
    typer.echo(f"id:  {issued.id}")
    typer.echo(f"key: {issued.key}")


@app.command("list")
def list_keys(branch: Annotated[str, typer.Option(help="branch code")], database_url: DatabaseOption = None) -> None:
    """The branch's keys: id, client, scopes, prefix, created, revoked (never the keys themselves)."""
    from services.identity import store
    from services.identity.handlers.machines import public

    async def work(session: AsyncSession, ident: Identity) -> list[dict[str, Any]]:
        return [public(k).model_dump(mode="json") for k in await store.api_keys_of(session, branch)]

    for row in run_in_identity(database_url, work):
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        typer.echo(f"{row['id']}  {row['client']:<24} {','.join(row['scopes']):<30} {row['prefix']}…  {state}")


def _with_key(key_id: str, database_url: str | None, act: Any) -> Any:
    from services.identity import store
    from services.identity.handlers.common import cli_actor

    async def work(session: AsyncSession, ident: Identity) -> Any:
        key = await store.api_key_by_id(session, key_id)
        if key is None:
            return None
        return await act(session, ident, cli_actor(key.branch), key) or True

    result = run_in_identity(database_url, work)
    if result is None:
        fail("--id", f"no API key {key_id!r}")
    return result


@app.command("rotate")
def rotate(
    key_id: Annotated[str, typer.Option("--id", help="the key's id")], database_url: DatabaseOption = None
) -> None:
    """A new key with the same client and scopes; the old one stops working at once."""
    from services.identity.handlers.machines import rotate_key
    from shared.errors import DomainError

    try:
        issued = _with_key(key_id, database_url, rotate_key)
    except DomainError as exc:
        fail("--id", exc.message)
    typer.echo(json.dumps({"id": issued.id, "key": issued.key}))


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Option("--id", help="the key's id")], database_url: DatabaseOption = None
) -> None:
    """The key stops working at once (its tokens die within their 10 minutes)."""
    from services.identity.handlers.machines import revoke_key

    _with_key(key_id, database_url, revoke_key)
    typer.echo(f"{key_id}: revoked")
