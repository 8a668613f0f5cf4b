"""Entry point of the `hotline` console script: one Typer app with a sub-app per area."""

from __future__ import annotations

import sys

import typer

from hotline.commands import (
    auth,
    bench,
    chaos,
    customers,
    deadletter,
    infra,
    keys,
    knowledge,
    policy,
    reporting,
    service,
    simulate,
    topics,
    users,
)
from hotline.commands import system as system_commands

app = typer.Typer(
    name="hotline",
    help="Gas hotline work-order system: policy engine, infrastructure and services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(policy.app, name="policy")
app.add_typer(auth.app, name="auth")
app.add_typer(infra.app, name="infra")
app.add_typer(service.app, name="service")
app.add_typer(customers.app, name="customers")
app.add_typer(topics.app, name="topics")
app.add_typer(users.app, name="users")
app.add_typer(knowledge.app, name="knowledge")
app.add_typer(reporting.app, name="reporting")
app.add_typer(deadletter.app, name="deadletter")
app.add_typer(keys.app, name="keys")

app.command("up")(system_commands.up)
app.command("down")(system_commands.down)
app.command("status")(system_commands.status)
app.command("bench")(bench.bench)
app.command("simulate")(simulate.simulate)
app.command("chaos")(chaos.chaos)


def main() -> None:
    """Run the CLI; a usage error is one line on stderr and exit status 2, never a traceback."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("hotline: aborted", err=True)
        sys.exit(130)
    except typer.TyperException as error:  # typer's own click: usage errors, missing options
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        line = " ".join(str(message).split())
        if line:  # empty when the help was shown for a bare group
            typer.echo(f"hotline: error: {line}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
