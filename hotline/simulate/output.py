"""The SLA report of a run as people read it: rich tables and summary lines, CSV files, the events, a PNG chart.

`render_report` prints a `hotline.simulate.report.Report`; `write_report` saves it as CSV files and a chart.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hotline.simulate.report import ACTIVITY_COLUMNS, CLOCK_ORDER, Report
from shared.events import Event, Payload, redacted


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def on_time_table(report: Report) -> Table:
    clocks = [c for c in CLOCK_ORDER if any(r.clock == c for r in report.clock_rows)]
    table = Table(title="On-time rate per clock (met / finished; breached; still running)", title_justify="left")
    table.add_column("level")
    table.add_column("org")
    for clock in clocks:
        table.add_column(clock, justify="right")
    orgs = list(dict.fromkeys((r.level, r.org_id) for r in report.clock_rows))
    index = {(r.level, r.org_id, r.clock): r for r in report.clock_rows}
    for level, org in orgs:
        cells = []
        for clock in clocks:
            row = index.get((level, org, clock))
            cells.append(
                "" if row is None else f"{_rate(row.on_time_rate)} ({row.met}/{row.met + row.breached}; {row.running})"
            )
        table.add_row(level, org, *cells)
    return table


def activity_table(report: Report) -> Table:
    table = Table(title="Breaches, escalations, returns, extensions and callbacks", title_justify="left")
    columns = [
        ("breach", "breaches"),
        ("esc div", "escalations_division"),
        ("esc ctr", "escalations_center"),
        ("return", "returns"),
        ("refused", "returns_refused"),
        ("ext req", "extensions_requested"),
        ("granted", "extensions_granted"),
        ("denied", "extensions_denied"),
        ("cb done", "callbacks_completed"),
        ("abandon", "callbacks_abandoned"),
        ("reopen", "reopened"),
    ]
    table.add_column("level")
    table.add_column("org")
    for title, _ in columns:
        table.add_column(title, justify="right")
    table.add_column("solved", justify="right")
    table.add_column("satisf.", justify="right")
    for row in report.org_rows:
        avg = row.average_satisfaction
        table.add_row(
            row.level,
            row.org_id,
            *(str(row.counts[key]) for _, key in columns),
            _rate(row.solved_rate),
            "-" if avg is None else f"{avg:.2f}",
        )
    return table


def summary_lines(report: Report) -> list[str]:
    mix = ", ".join(f"{k} {v}" for k, v in report.tickets.most_common())
    levels = ", ".join(f"level {k}: {v}" for k, v in sorted(report.complaint_levels.items()))
    closed = ", ".join(f"{k} {v}" for k, v in report.closed.most_common())
    attempts = ", ".join(f"{k} {v}" for k, v in report.attempts.most_common())
    escalations = ", ".join(f"{k} {v}" for k, v in sorted(report.escalations.items())) or "none"
    ratings = ", ".join(f"{k}★ {report.ratings[k]}" for k in range(5, 0, -1))
    return [
        f"events observed: {report.events} ({report.first_event} .. {report.last_event})",
        f"tickets received: {report.received} ({mix})",
        f"closed on the call: {report.closed_on_call}; closed later: {sum(report.closed.values())} ({closed}); "
        f"still open: {report.open_tickets}",
        f"complaints by final level: {levels or 'none'}",
        f"automatic dispatch after receipt (simulated minutes): p50 {report.dispatch_percentile(0.5)}, "
        f"p90 {report.dispatch_percentile(0.9)}, max {report.dispatch_percentile(1.0)}",
        f"escalations: {escalations}",
        f"callback attempts: {attempts or 'none'}",
        f"satisfaction ratings: {ratings}",
    ]


def render_report(report: Report, console: Console) -> None:
    for line in summary_lines(report):
        console.print(line, highlight=False, markup=False)
    console.print(on_time_table(report))
    console.print(activity_table(report))


def write_report(report: Report, folder: Path) -> list[Path]:
    """on_time.csv, activity.csv, report.txt and chart.png in `folder`; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    on_time = folder / "on_time.csv"
    with on_time.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["level", "org_id", "clock", "met", "breached", "running", "on_time_rate"])
        for r in report.clock_rows:
            rate = "" if r.on_time_rate is None else r.on_time_rate
            writer.writerow([r.level, r.org_id, r.clock, r.met, r.breached, r.running, rate])
    activity = folder / "activity.csv"
    with activity.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["level", "org_id", *ACTIVITY_COLUMNS, "solved_rate", "average_satisfaction"])
        for row in report.org_rows:
            writer.writerow(
                [
                    row.level,
                    row.org_id,
                    *(row.counts[c] for c in ACTIVITY_COLUMNS),
                    "" if row.solved_rate is None else row.solved_rate,
                    "" if row.average_satisfaction is None else row.average_satisfaction,
                ]
            )
    text = folder / "report.txt"
    with text.open("w") as handle:
        render_report(report, Console(file=handle, width=160, color_system=None))
    chart = folder / "chart.png"
    return [on_time, activity, text, chart] if write_chart(report, chart) else [on_time, activity, text]


def write_events(events: Iterable[Event[Payload]], path: Path) -> Path:
    """The observed events as JSON lines, personal fields masked (RULES.md §6): the report's evidence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for event in events:
            handle.write(json.dumps(redacted(event), ensure_ascii=False) + "\n")
    return path


def write_chart(report: Report, path: Path) -> bool:
    """Three panels: on-time rate per clock per unit; breaches, returns, extensions per unit; ratings.

    False (no chart) where matplotlib, the `report` extra, is not installed (the services' image).
    """
    try:
        import matplotlib
    except ImportError:
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = [r.org_id for r in report.org_rows if r.level == "unit"]
    clocks = [c for c in CLOCK_ORDER if any(r.clock == c for r in report.clock_rows)]
    index = {(r.org_id, r.clock): r for r in report.clock_rows if r.level == "unit"}
    figure, (top, middle, bottom) = plt.subplots(3, 1, figsize=(11, 12))
    width = 0.8 / max(1, len(clocks))
    for i, clock in enumerate(clocks):
        values = []
        for unit in units:
            row = index.get((unit, clock))
            rate = row.on_time_rate if row is not None else None
            values.append(100 * rate if rate is not None else 0.0)
        top.bar([u + i * width for u in range(len(units))], values, width, label=clock)
    top.set_xticks([u + 0.4 - width / 2 for u in range(len(units))], units)
    top.set_ylabel("on time, %")
    top.set_ylim(0, 118)
    top.set_title("On-time rate per clock and unit")
    if clocks:
        top.legend(ncol=len(clocks), fontsize="small")
    metrics = ("breaches", "escalations_division", "returns", "extensions_granted", "extensions_denied", "reopened")
    rows = {r.org_id: r for r in report.org_rows if r.level == "unit"}
    width = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        middle.bar(
            [u + i * width for u in range(len(units))], [rows[u].counts[metric] for u in units], width, label=metric
        )
    middle.set_xticks([u + 0.4 - width / 2 for u in range(len(units))], units)
    middle.set_title("Breaches, escalations, returns, extensions and reopenings per unit")
    if units:
        middle.legend(ncol=3, fontsize="small")
    stars = [5, 4, 3, 2, 1]
    bottom.bar([str(s) for s in stars], [report.ratings[s] for s in stars], color="tab:green")
    bottom.set_title(
        "Callback satisfaction ratings (completed "
        f"{sum(r.counts['callbacks_completed'] for r in report.org_rows if r.level == 'branch')}, abandoned "
        f"{sum(r.counts['callbacks_abandoned'] for r in report.org_rows if r.level == 'branch')})"
    )
    bottom.set_xlabel("rating")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def report_rows(report: Report) -> Sequence[dict[str, Any]]:
    """The on-time rows as dicts (for JSON output)."""
    return [
        {
            "level": r.level,
            "org_id": r.org_id,
            "clock": r.clock,
            "met": r.met,
            "breached": r.breached,
            "running": r.running,
            "on_time_rate": r.on_time_rate,
        }
        for r in report.clock_rows
    ]
