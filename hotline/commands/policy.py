"""`hotline policy ...`: deadlines, callback slots and the working-day calendar from the CLI."""

from __future__ import annotations

import typer

app = typer.Typer(help="Ask the policy engine: deadlines, callback slots, calendars.", no_args_is_help=True)
