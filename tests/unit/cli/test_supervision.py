"""Issue 14 #8: `hotline up` restarts a crashed process with backoff and says so; `status` checks its own pids."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline import system
from hotline.cli import app
from hotline.system import Backoff, ProcessSpec, Supervisor, SystemState

SLEEP = "import time; time.sleep(120)"


@dataclass(frozen=True)
class SleepingService(ProcessSpec):
    """A real OS process whose command line names a service role, as `hotline service run` does."""

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-c",
            "import time; time.sleep(120)",
            "service",
            "run",
            self.service,
            "--role",
            self.role,
        ]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _kill_and_reap(supervisor: Supervisor, name: str) -> int:
    process = supervisor.children[name][1]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    return process.pid


def test_a_killed_process_is_restarted_after_a_growing_backoff_and_each_step_is_said(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(tmp_path, dict(os.environ), Backoff(first=1, factor=2, most=30), clock=clock)
    spec = SleepingService("intake", "worker", 8111)
    supervisor.start(spec)
    try:
        assert supervisor.supervise() == []
        first = _kill_and_reap(supervisor, spec.name)
        [said] = supervisor.supervise()
        assert said.startswith("intake-worker exited with status -9; restarting in 1 s")
        assert supervisor.supervise() == []  # not before its backoff
        clock.now += 1
        [said] = supervisor.supervise()
        second = supervisor.children[spec.name][1].pid
        assert second != first and f"restarted (pid {second}, restart 1)" in said
        assert supervisor.children[spec.name][1].poll() is None
        _kill_and_reap(supervisor, spec.name)
        [said] = supervisor.supervise()
        assert "restarting in 2 s" in said  # backoff grows
        assert "restarting in" in supervisor.status()[spec.name]
        clock.now += 2
        supervisor.supervise()
        clock.now += 61  # up for a minute: the count is forgiven
        supervisor.supervise()
        assert spec.name not in supervisor.restarts
    finally:
        supervisor.stop(grace=2)


def test_status_checks_the_recorded_processes_not_just_a_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    own = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "service", "run", "dispatch", "--role", "worker"]
    )
    try:
        state = SystemState(
            supervisor_pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat(),
            kafka_bootstrap="127.0.0.1:19092",
            database="sqlite",
            processes={"intake-worker": stranger.pid, "dispatch-worker": own.pid},
        )
        state.save(system.system_dir() / "up.json")
        result = CliRunner().invoke(app, ["status"])
        lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
        # a pid that is not the service it was recorded as is down, whatever answers on its port
        assert " down" in lines["intake-worker"]
        assert "down" not in lines["dispatch-worker"]  # our process, not serving yet
        assert result.exit_code == 1
    finally:
        for process in (stranger, own):
            process.kill()
            process.wait()
