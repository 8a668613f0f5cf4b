"""The benchmark suite's plumbing: scenario choice, summaries and the table; it never asserts a timing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bench import suite
from hotline.cli import app

runner = CliRunner()


def test_an_unknown_scenario_is_refused_before_anything_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite, "run_suite", lambda *a, **k: pytest.fail("must not run"))
    result = runner.invoke(app, ["bench", "--scenario", "warp-speed"])
    assert result.exit_code != 0
    assert "warp-speed" in result.output


def test_the_chosen_scenarios_run_in_the_suites_order_and_a_failure_does_not_hide_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ran: list[str] = []

    def fake(name: str) -> Any:
        def run(servers: suite.Servers, size: str, out: Path) -> dict[str, Any]:
            ran.append(name)
            if name == "callback":
                raise RuntimeError("database went away")
            return {"scheduling": {}, "claiming": {}} if name == "callback" else {"results": []}

        return run

    monkeypatch.setattr(suite, "RUNNERS", {name: fake(name) for name in suite.SCENARIOS})
    report = suite.run_suite(
        ["callback", "ceiling"], "small", tmp_path, servers=suite.Servers("127.0.0.1:1", "postgresql://x/y")
    )
    assert ran == ["ceiling", "callback"]
    failed = [e["scenario"] for e in report["scenarios"] if e.get("error")]
    assert failed == ["callback"]
    assert (tmp_path / "suite.json").is_file() and (tmp_path / "ceiling.json").is_file()
    assert "| callback | FAILED | RuntimeError: database went away" in report["table"]


def test_the_pipeline_summary_gives_the_ratio_to_the_1_kb_ceiling() -> None:
    ceiling = {"results": [{"value_bytes": 1024, "flat_out": {"msgs_per_s": 20_000.0}}]}
    latency = {"count": 10, "p50_ms": 100.0, "p99_ms": 400.0, "max_ms": 450.0}
    phase = {
        "tickets": 10,
        "rate_per_s": "flat out",
        "dispatched_per_s": 1_000.0,
        "timed_per_s": 500.0,
        "received_to_dispatched": latency,
        "received_to_timers_started": latency,
        "complete": True,
    }
    rows = dict(suite.headline("pipeline", {"results": {"burst": phase}}, ceiling))
    assert rows["burst (flat out/s, 10)"].endswith("5.0 % of the 1 KB ceiling")
