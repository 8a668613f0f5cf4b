"""`hotline bench`: every benchmark scenario in one run against the same real broker and PostgreSQL."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

SCENARIOS = ("ceiling", "pipeline", "intake-http", "sla-scale", "callback")


def bench(
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", "-s", help=f"run only these (repeatable): {', '.join(SCENARIOS)}"),
    ] = None,
    size: Annotated[str, typer.Option(help="small (default, < 10 minutes on 2 cores) or full")] = "small",
    out: Annotated[Path, typer.Option(help="folder for each scenario's JSON and suite.json")] = Path("bench-results"),
) -> None:
    """Run the benchmark scenarios; prints each one's JSON and summary, then a table of the figures."""
    chosen = list(scenario or [])
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown or size not in ("small", "full"):
        what = f"unknown scenario(s) {', '.join(unknown)}" if unknown else f"unknown size {size}"
        raise typer.BadParameter(f"{what}; scenarios: {', '.join(SCENARIOS)}; sizes: small, full")
    report = _suite().run_suite(chosen, "full" if size == "full" else "small", out)
    if any(entry.get("error") for entry in report["scenarios"]):
        raise typer.Exit(1)


def _suite() -> Any:
    """bench/suite.py of the source tree (the benchmarks are not part of the installed package)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "bench" / "suite.py").is_file():
        raise typer.BadParameter(f"no bench/ folder beside {root / 'hotline'}: run from a source checkout")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("bench.suite")
