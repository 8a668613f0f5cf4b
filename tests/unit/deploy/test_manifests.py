"""The compose file and the image start what exists: every command is a real CLI command (k8s: test_k8s.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from hotline.cli import app

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
SERVICES = (
    "intake",
    "dispatch",
    "sla_monitor",
    "callback",
    "identity",
    "knowledge",
    "reporting",
    "outbound",
    "console",
)


def resolve(argv: list[str]) -> Any:
    """The click command that `argv` (starting with 'hotline') runs; raises if any part does not exist."""
    assert argv[0] == "hotline", argv
    command = typer.main.get_command(app)
    args = argv[1:]
    # Typer carries its own click: a group is whatever can look up sub-commands.
    while hasattr(command, "get_command") and args:
        sub = command.get_command(typer.Context(command), args[0])
        if sub is None:
            raise LookupError(f"no command {args[0]!r} in {' '.join(argv)}")
        command, args = sub, args[1:]
    # Parse the rest as the command itself would: a bad argument or choice raises a usage error.
    command.make_context(command.name, list(args), resilient_parsing=False)
    return command


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_the_resolver_rejects_commands_that_do_not_exist():
    resolve(["hotline", "service", "run", "intake"])
    with pytest.raises(LookupError):
        resolve(["hotline", "services", "run", "intake"])
    with pytest.raises(typer.TyperException, match="billing"):
        resolve(["hotline", "service", "run", "billing"])
    with pytest.raises(typer.TyperException):
        resolve(["hotline", "service", "run"])


def test_compose_runs_each_service_in_its_own_container_from_one_image():
    services = compose()["services"]
    assert set(SERVICES) <= set(services)
    images = {services[name]["image"] for name in SERVICES}
    assert len(images) == 1
    for name in SERVICES:
        command = services[name]["command"]
        assert command == ["hotline", "service", "run", name]
        resolve(command)
        assert "/health/ready" in " ".join(services[name]["healthcheck"]["test"])
        assert services[name]["environment"]["KAFKA_BOOTSTRAP"] == "kafka:9092"


def test_compose_kafka_is_the_official_image_in_kraft_mode_and_postgres_has_every_database():
    services = compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert "healthcheck" in kafka and "healthcheck" in services["postgres"]
    init_sql = (DEPLOY / "postgres" / "init-databases.sql").read_text()
    assert set(re.findall(r"CREATE DATABASE (\w+);", init_sql)) == set(SERVICES)


def test_the_image_default_command_exists():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, flags=re.MULTILINE)
    resolve(json.loads(cmd))
