"""`hotline infra up | status | down` as a user runs them, on a broker of the test's own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from hotline.infra.process import find_pids

HOTLINE = [str(Path(sys.executable).with_name("hotline"))]  # the console script a user runs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def own_infra(tmp_path: Path, database_url: str) -> Iterator[dict[str, str]]:
    """Environment for a private broker (own state folder and ports); PostgreSQL given by DATABASE_URL."""
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP"}
    env.update(
        HOTLINE_INFRA_STATE_DIR=str(tmp_path / "state"),
        HOTLINE_KAFKA_PORT=str(_free_port()),
        HOTLINE_KAFKA_CONTROLLER_PORT=str(_free_port()),
        HOTLINE_KAFKA_HEAP="256m",
        # `down` stops every server it manages: point its PostgreSQL at a folder of its own too.
        HOTLINE_POSTGRES_DIR=str(tmp_path / "postgres"),
        HOTLINE_POSTGRES_PORT=str(_free_port()),
        DATABASE_URL=database_url,
    )
    yield env
    subprocess.run([*HOTLINE, "infra", "down"], env=env, capture_output=True, check=False, timeout=120)


def _hotline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HOTLINE, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def _config_marker(env: dict[str, str]) -> str:
    return str(Path(env["HOTLINE_INFRA_STATE_DIR"]) / "kafka" / "server.properties")


def test_up_is_idempotent_status_tells_where_and_down_leaves_nothing(own_infra):
    bootstrap = f"127.0.0.1:{own_infra['HOTLINE_KAFKA_PORT']}"

    first = _hotline(own_infra, "infra", "up")
    assert first.returncode == 0, first.stderr
    # stdout is for `eval "$(hotline infra up)"`: the two assignments and nothing else.
    assert first.stdout.splitlines() == [
        f"KAFKA_BOOTSTRAP={bootstrap}",
        f"DATABASE_URL={own_infra['DATABASE_URL']}",
    ]
    assert "kafka: started" in first.stderr
    assert "postgres: given by the environment; not started" in first.stderr

    again = _hotline(own_infra, "infra", "up")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert "kafka: already running" in again.stderr
    assert len(find_pids(_config_marker(own_infra), "kafka.Kafka")) == 1

    status = _hotline(own_infra, "infra", "status")
    kafka_line = next(line for line in status.stdout.splitlines() if line.startswith("kafka "))
    assert "running" in kafka_line and bootstrap in kafka_line
    postgres_line = next(line for line in status.stdout.splitlines() if " external " in line)
    assert postgres_line.startswith("postgres")  # the server from DATABASE_URL, not managed here
    password = make_url(own_infra["DATABASE_URL"]).password
    assert not password or f":{password}@" not in postgres_line

    down = _hotline(own_infra, "infra", "down")
    assert down.returncode == 0, down.stderr
    assert "stopped: kafka" in down.stderr
    assert find_pids(_config_marker(own_infra), "kafka.Kafka") == []
    after = _hotline(own_infra, "infra", "status")
    assert next(line for line in after.stdout.splitlines() if line.startswith("kafka ")).split()[1] == "stopped"


def test_up_fails_with_the_servers_log_when_the_broker_cannot_start(own_infra):
    own_infra["HOTLINE_KAFKA_HEAP"] = "not-a-size"
    result = _hotline(own_infra, "infra", "up")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Kafka exited during start-up" in result.stderr
    assert "last lines of the server's log" in result.stderr
    assert "Invalid" in result.stderr  # the JVM's own complaint, from the log


def test_up_refuses_a_port_that_another_process_holds(own_infra):
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", int(own_infra["HOTLINE_KAFKA_PORT"])))
        squatter.listen()
        result = _hotline(own_infra, "infra", "up")
    assert result.returncode != 0
    assert "is taken by another process" in result.stderr
    assert find_pids(_config_marker(own_infra), "kafka.Kafka") == []
