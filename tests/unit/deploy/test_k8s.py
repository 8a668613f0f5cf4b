"""Every overlay renders (kustomize), validates (Kubernetes schemas, KEDA's), and runs what exists safely."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from cloudcoil.models.keda.v1alpha1 import ScaledObject

from services.dispatch.routing import load_org_file
from shared.branch_config import load_branch
from tests.unit.deploy.render import OVERLAYS, render
from tests.unit.deploy.test_manifests import resolve

# the oldest Kubernetes minor a branch's cluster may still run (the schemas kubernetes-validate ships)
KUBERNETES_VERSION = "1.31.0"
WORKLOADS = ("Deployment", "StatefulSet")
PARTITIONS = 6  # HOTLINE_PARTITIONS of the base ConfigMap: the most workers of a service that can work
# services that keep Faust tables: their state must be on a volume of their own
STATEFUL = {"sla-monitor", "intake-worker"}
# workloads with nothing to scale on (no consumer; one pod is plenty): identity's housekeeping, knowledge's relay
FIXED = {"identity-worker", "knowledge-worker"}


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


def of_kind(documents: list[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [doc for doc in documents if doc["kind"] in kinds]


def containers(documents: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for doc in of_kind(documents, *WORKLOADS, "Job"):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            yield doc, container


def test_every_overlay_renders_documents_valid_for_kubernetes_and_keda(overlay):
    name, documents = overlay
    assert of_kind(documents, "Deployment") and of_kind(documents, "StatefulSet"), name
    for doc in documents:
        if doc["apiVersion"].startswith("keda.sh/"):
            assert doc["kind"] == "ScaledObject"
            ScaledObject.model_validate(doc)  # KEDA's own CRD schema, as pydantic models
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validators_refuse_a_broken_document():
    """The checks above can fail: a misspelt field and a wrong type are caught by each validator."""
    deployment = of_kind(render("one-branch"), "Deployment")[0]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    scaled = of_kind(render("one-branch"), "ScaledObject")[0]
    with pytest.raises(ValueError, match="maxReplicaCount"):
        ScaledObject.model_validate({**scaled, "spec": {**scaled["spec"], "maxReplicaCount": "many"}})


def test_every_command_in_the_manifests_exists_in_the_cli(overlay):
    _, documents = overlay
    for _doc, container in containers(documents):
        resolve(container["command"])


def test_each_service_has_an_api_role_and_a_worker_role_of_its_own(overlay):
    _, documents = overlay
    roles: dict[str, set[str]] = {}
    for _doc, container in containers(documents):
        command = container["command"]
        if command[:3] == ["hotline", "service", "run"]:
            role = command[command.index("--role") + 1] if "--role" in command else "all"
            roles.setdefault(command[3], set()).add(role)
    for service in ("intake", "dispatch", "callback", "identity", "knowledge", "reporting", "outbound"):
        assert roles[service] == {"api", "worker"}, service
    assert roles["sla_monitor"] == {"all"}  # its read API serves the worker's own tables
    assert roles["console"] == {"all"}  # each browser's stream needs the pod's own consumer


def test_containers_run_as_non_root_read_only_with_requests_limits_and_honest_probes(overlay):
    _, documents = overlay
    for doc, container in containers(documents):
        name = doc["metadata"]["name"]
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name
        resources = container["resources"]
        assert resources["requests"]["cpu"] and resources["requests"]["memory"], name
        assert resources["limits"]["memory"], name
        if doc["kind"] in WORKLOADS:
            ports = {port["name"] for port in container["ports"]}
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name
            assert {
                container["livenessProbe"]["httpGet"]["port"],
                container["readinessProbe"]["httpGet"]["port"],
            } <= ports
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert "/tmp" in mounts, name  # noqa: S108 - a path inside the pod: its only scratch space


def test_secrets_come_from_a_secret_never_from_a_config_map(overlay):
    _, documents = overlay
    secret_words = ("SECRET", "PASSWORD", "TOKEN", "KEY", "DATABASE_URL")
    for config_map in of_kind(documents, "ConfigMap"):
        for key in config_map.get("data", {}):
            assert not any(word in key.upper() for word in secret_words), (config_map["metadata"]["name"], key)
    assert not of_kind(documents, "Secret")  # created per branch from base/secret.template.yaml
    for _doc, container in containers(documents):
        assert {"secretRef": {"name": "hotline-secrets"}} in container["envFrom"]


def test_faust_apps_with_tables_are_stateful_sets_with_their_state_on_a_volume(overlay):
    _, documents = overlay
    stateful = {doc["metadata"]["name"]: doc for doc in of_kind(documents, "StatefulSet")}
    assert set(stateful) == STATEFUL
    for name, doc in stateful.items():
        (claim,) = doc["spec"]["volumeClaimTemplates"]
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
        assert mounts[claim["metadata"]["name"]] == "/var/lib/hotline", name  # HOTLINE_STATE_DIR
    env = {
        item["name"]: item["value"]
        for item in stateful["sla-monitor"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert int(env["HOTLINE_SLA_STANDBY_REPLICAS"]) >= 1


def test_scaling_each_role_on_its_own_signal(overlay):
    _, documents = overlay
    workloads = {(doc["kind"], doc["metadata"]["name"]): doc for doc in of_kind(documents, *WORKLOADS)}
    autoscalers = of_kind(documents, "HorizontalPodAutoscaler")
    scaled = of_kind(documents, "ScaledObject")
    for hpa in autoscalers:  # APIs on CPU
        target = hpa["spec"]["scaleTargetRef"]
        assert ("Deployment", target["name"]) in workloads and target["name"].endswith("-api")
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    for item in scaled:  # workers on consumer lag, never past the partition count
        target = item["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) in workloads
        assert item["spec"]["maxReplicaCount"] <= PARTITIONS
        (trigger,) = item["spec"]["triggers"]
        assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"].startswith("hotline-")
    covered = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in autoscalers}
    covered |= {item["spec"]["scaleTargetRef"]["name"] for item in scaled}
    assert covered | FIXED == {name for _kind, name in workloads}


def test_every_workload_has_a_disruption_budget_and_a_service(overlay):
    _, documents = overlay
    budgets = of_kind(documents, "PodDisruptionBudget")
    services = of_kind(documents, "Service")
    for doc in of_kind(documents, *WORKLOADS):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        name = doc["metadata"]["name"]
        assert any(b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets), name
        assert any(s["spec"]["selector"].items() <= labels.items() for s in services), name


def test_network_policies_deny_by_default_and_expose_only_the_apis(overlay):
    _, documents = overlay
    policies = {doc["metadata"]["name"]: doc["spec"] for doc in of_kind(documents, "NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    public = policies["public-apis"]["podSelector"]["matchLabels"]
    for doc in of_kind(documents, *WORKLOADS):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        exposed = public.items() <= labels.items()
        is_api = labels.get("app.kubernetes.io/component") == "api" or doc["metadata"]["name"] == "sla-monitor"
        assert exposed == is_api, doc["metadata"]["name"]
    kafka = policies["to-kafka"]["podSelector"]["matchLabels"]
    postgres = policies["to-postgres"]["podSelector"]["matchLabels"]
    assert kafka == {"hotline.io/kafka": "true"} and postgres == {"hotline.io/postgres": "true"}


def test_each_branch_has_its_namespace_and_its_configuration_mounted(overlay):
    name, documents = overlay
    namespaces = {doc["metadata"]["name"] for doc in of_kind(documents, "Namespace")}
    assert namespaces and all(ns.startswith("hotline-") for ns in namespaces)
    for doc in documents:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] in namespaces, (name, doc["kind"], doc["metadata"]["name"])
    config_maps = {doc["metadata"]["name"]: doc for doc in of_kind(documents, "ConfigMap")}
    for _doc, container in containers(documents):
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert {"/etc/hotline/branches", "/etc/hotline/orgs"} <= mounts
    volumes = [v for doc in of_kind(documents, *WORKLOADS) for v in doc["spec"]["template"]["spec"]["volumes"]]
    for volume in volumes:
        if "configMap" in volume and not volume["configMap"].get("optional"):
            assert volume["configMap"]["name"] in config_maps  # generated names (with their hash) resolve


def test_the_branch_configuration_of_every_overlay_loads_in_the_product(tmp_path: Path):
    """What an overlay mounts at /etc/hotline is what the services read: laid out there, it loads."""
    for overlay_name in OVERLAYS:
        config_maps = {
            doc["metadata"]["name"].rsplit("-", 1)[0]: doc for doc in render(overlay_name) if doc["kind"] == "ConfigMap"
        }
        root = tmp_path / overlay_name
        for folder in ("branches", "orgs"):
            target = root / folder
            target.mkdir(parents=True)
            for file_name, text in config_maps[f"hotline-{folder}"]["data"].items():
                (target / file_name).write_text(text)
        for branch_file in (root / "branches").glob("*.toml"):
            policy = load_branch(branch_file.stem, env={"HOTLINE_CONFIG_DIR": str(root)})
            assert str(policy.timezone) == "Asia/Shanghai"
            org = load_org_file(root / "orgs" / branch_file.name)
            assert org.units, (overlay_name, branch_file.stem)
