"""`hotline infra ...`: the local Kafka broker and PostgreSQL server for development and tests."""

from __future__ import annotations

from typing import Annotated

import typer

from hotline.infra import harness
from hotline.infra.console import log_to_stderr
from hotline.infra.kafka import KafkaServer
from hotline.infra.process import InfraError
from hotline.infra.settings import InfraSettings

app = typer.Typer(
    help=(
        "Local Apache Kafka (KRaft) and PostgreSQL on loopback. "
        "`export $(hotline infra up)` sets KAFKA_BOOTSTRAP and DATABASE_URL."
    ),
    no_args_is_help=True,
)


@app.callback()
def _log_to_stderr() -> None:
    # stdout of `up` is sourced by shells: every progress line goes to stderr.
    log_to_stderr()


def _fail(error: InfraError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(1)


@app.command()
def fetch(
    keycloak: Annotated[
        bool, typer.Option("--keycloak", help="Also Keycloak's distribution (the identity service's OIDC tests).")
    ] = False,
) -> None:
    """Download the Kafka release jars from Maven Central into the cache (once)."""
    if keycloak:
        from hotline.infra import keycloak as kc

        try:
            home = kc.fetch(InfraSettings())
        except InfraError as error:
            raise _fail(error) from error
        typer.echo(f"Keycloak {kc.KEYCLOAK_VERSION} cached in {home}", err=True)
    server = KafkaServer(InfraSettings())
    if server.is_fetched():
        typer.echo(f"Kafka {server.version} already cached in {server.libs_dir}", err=True)
        return
    try:
        libs = server.fetch()
    except InfraError as error:
        raise _fail(error) from error
    typer.echo(f"Kafka {server.version} cached in {libs}", err=True)


@app.command()
def up() -> None:
    """Start both servers (or find them running) and print their addresses for the shell."""
    try:
        endpoints = harness.ensure_up(InfraSettings())
    except InfraError as error:
        raise _fail(error) from error
    for name in ("kafka", "postgres"):
        if name in endpoints.external:
            what = "given by the environment; not started"
        elif name in endpoints.started:
            what = "started"
        else:
            what = "already running"
        typer.echo(f"{name}: {what}", err=True)
    for line in endpoints.as_env_lines():
        typer.echo(line)


@app.command()
def down() -> None:
    """Stop both servers; leaves no process of theirs behind."""
    try:
        stopped = harness.stop_all(InfraSettings())
    except InfraError as error:
        raise _fail(error) from error
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running", err=True)


@app.command()
def status() -> None:
    """Say what runs where."""
    for row in harness.infra_status(InfraSettings()):
        pid = f"pid {row.pid}" if row.pid else "-"
        typer.echo(f"{row.name:<9} {row.state:<8} {row.address:<22} {pid:<10} {row.detail}")
