"""The deploy manifests start what exists: every command is a real CLI command, every service is probed."""

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
SERVICES = ("intake", "dispatch", "sla_monitor", "callback", "identity")


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


def k8s_documents() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def deployments() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in k8s_documents() if doc["kind"] == "Deployment"}


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


def test_every_k8s_deployment_is_probed_sized_and_runs_a_real_command():
    found = deployments()
    assert set(found) == {name.replace("_", "-") for name in SERVICES}
    for name, deployment in found.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        resolve(container["command"])
        assert container["command"][-1].replace("_", "-") == name
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        ports = {port["name"] for port in container["ports"]}
        assert container["livenessProbe"]["httpGet"]["port"] in ports
        assert container["readinessProbe"]["httpGet"]["port"] in ports
        requests = container["resources"]["requests"]
        assert requests.get("cpu") and requests.get("memory"), name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_every_k8s_deployment_has_a_service_and_its_config_and_secret_exist():
    documents = k8s_documents()
    services = [doc for doc in documents if doc["kind"] == "Service"]
    config_maps = {doc["metadata"]["name"] for doc in documents if doc["kind"] == "ConfigMap"}
    secrets = {doc["metadata"]["name"] for doc in documents if doc["kind"] == "Secret"}
    for name, deployment in deployments().items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(service["spec"]["selector"].items() <= labels.items() for service in services), name
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        for source in container["envFrom"]:
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps
            if "secretRef" in source:
                assert source["secretRef"]["name"] in secrets


def test_kustomization_lists_files_that_exist():
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (DEPLOY / "k8s" / resource).is_file(), resource


def test_the_image_default_command_exists():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, flags=re.MULTILINE)
    resolve(json.loads(cmd))
