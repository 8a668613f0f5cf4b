"""`hotline service run <name>`: runs a service's main(), or says in one line that there is none yet."""

from __future__ import annotations

import sys
import types

import pytest
from typer.testing import CliRunner

from hotline.cli import app

runner = CliRunner()


def test_a_service_without_an_entry_point_exits_2_with_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "services.callback.main", None)  # as if the module did not exist
    result = runner.invoke(app, ["service", "run", "callback"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "hotline: service callback has no entry point yet (services.callback.main)"
    ]


@pytest.mark.parametrize(("is_async", "args", "role"), [(False, [], "all"), (True, ["--role", "worker"], "worker")])
def test_run_calls_the_services_main_with_the_process_role(monkeypatch, is_async, args, role):
    calls: list[tuple[str, str]] = []
    module = types.ModuleType("services.dispatch.main")
    if is_async:

        async def main(role: str) -> None:
            calls.append(("async main", role))

    else:

        def main(role: str) -> None:
            calls.append(("main", role))

    module.main = main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "services.dispatch.main", module)
    result = runner.invoke(app, ["service", "run", "dispatch", *args])
    assert result.exit_code == 0, result.output
    assert calls == [("async main" if is_async else "main", role)]


def test_an_unknown_service_is_a_usage_error():
    result = runner.invoke(app, ["service", "run", "billing"])
    assert result.exit_code == 2
    assert "billing" in result.output
