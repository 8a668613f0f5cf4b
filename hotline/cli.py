"""Entry point of the `hotline` console script: one Typer app with a sub-app per area."""

from __future__ import annotations

import typer

from hotline.commands import policy

app = typer.Typer(
    name="hotline",
    help="Gas hotline work-order system: policy engine, infrastructure and services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(policy.app, name="policy")


def main() -> None:
    app()
