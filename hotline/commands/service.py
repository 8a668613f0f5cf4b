"""`hotline service run <name>`: the launcher every container and process of a service starts with."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
from enum import StrEnum
from typing import Annotated

import typer

app = typer.Typer(help="Run one of the four services (the command of every image and process).", no_args_is_help=True)


class Service(StrEnum):
    INTAKE = "intake"
    DISPATCH = "dispatch"
    SLA_MONITOR = "sla_monitor"
    CALLBACK = "callback"
    IDENTITY = "identity"
    CONSOLE = "console"  # the web console (one role: pages, event stream and its consumer together)
    KNOWLEDGE = "knowledge"
    REPORTING = "reporting"
    OUTBOUND = "outbound"  # customer status SMS (issue 21)


class ProcessRole(StrEnum):
    ALL = "all"  # API and worker in one process (the single-machine default)
    API = "api"  # the HTTP API only; scale it freely
    WORKER = "worker"  # consumers and outbox relay, with a health/metrics port


@app.command()
def run(
    name: Annotated[Service, typer.Argument(help="the service package under services/")],
    role: Annotated[ProcessRole, typer.Option("--role", help="all, api or worker")] = ProcessRole.ALL,
) -> None:
    """Import services.<name>.main and call its main(role)."""
    module_name = f"services.{name.value}.main"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        # Only the entry module itself may be missing; a missing import inside it is a real error.
        if error.name not in (module_name, f"services.{name.value}"):
            raise
        typer.echo(f"hotline: service {name.value} has no entry point yet ({module_name})", err=True)
        raise typer.Exit(2) from None
    entry = getattr(module, "main", None)
    if not callable(entry):
        typer.echo(f"hotline: service {name.value} has no main() in {module_name}", err=True)
        raise typer.Exit(2)
    result = entry(role.value)
    if inspect.iscoroutine(result):
        asyncio.run(result)


@app.command("list")
def list_services() -> None:
    """The services this launcher knows, and whether each has an entry point yet."""
    for service in Service:
        spec = importlib.util.find_spec(f"services.{service.value}.main")
        typer.echo(f"{service.value:<12} {'ready' if spec else 'no entry point yet'}")
