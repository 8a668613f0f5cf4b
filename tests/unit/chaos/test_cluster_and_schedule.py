"""The three-node cluster's configuration, the fault schedule, shared API ports, and idempotent Faust producers."""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

from hotline.chaos.faults import EXCLUSIVE, build_schedule
from hotline.chaos.system import plan_processes
from hotline.infra.cluster import KafkaCluster
from shared.runtime import SERVICES, ServiceSettings, listening_sockets
from shared.streams import StreamApp


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_every_node_is_broker_and_controller_of_one_static_quorum_with_three_replicas(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path)
    configs = [properties(node._server_properties()) for node in cluster.nodes.values()]
    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    voters = {c["controller.quorum.voters"] for c in configs}
    assert len(voters) == 1 and voters.pop().count("@") == 3
    for config in configs:
        assert config["process.roles"] == "broker,controller"
        assert "controller.quorum.bootstrap.servers" not in config
        assert config["default.replication.factor"] == "3" and config["min.insync.replicas"] == "2"
        assert config["offsets.topic.replication.factor"] == "3"
        assert config["transaction.state.log.min.isr"] == "2"
    ports = {c["listeners"] for c in configs}
    assert len(ports) == 3  # each node its own ports
    assert KafkaCluster(tmp_path).bootstrap == cluster.bootstrap  # the layout is kept for restarts


def test_the_short_schedule_has_every_kind_and_kills_a_process_of_every_service() -> None:
    procs = plan_processes()
    assert len(procs) == 4 * len(SERVICES) - 2  # two workers and two APIs each (the SLA monitor: two `all`)
    schedule = build_schedule(20, procs)
    kinds = Counter(f.kind for f in schedule)
    assert set(kinds) == {"kill_worker", "kill_api", "kill_broker", "kill_controller", "pause"} | {
        "postgres_restart",
        "reassign",
    }
    killed = {f.target.split("-")[0] for f in schedule if f.kind in ("kill_worker", "kill_api")}
    assert killed == set(SERVICES)
    # the workers with side effects among them: SLA timers, SMS and webhooks, dispatch, callbacks
    workers = {f.target for f in schedule if f.kind == "kill_worker"}
    assert {"sla_monitor-all-1", "outbound-worker-1", "dispatch-worker-1", "callback-worker-1"} <= workers


def test_the_long_schedule_kills_every_process_and_every_broker() -> None:
    procs = plan_processes()
    schedule = build_schedule(100, procs)
    killed = {f.target for f in schedule if f.kind in ("kill_worker", "kill_api")}
    assert killed == {p.name for p in procs}
    brokers = {f.target for f in schedule if f.kind == "kill_broker"}
    assert brokers == {"broker-1", "broker-2", "broker-3"}
    assert sum(f.kind in EXCLUSIVE for f in schedule) == 25


def test_two_api_processes_can_listen_on_one_port_each_with_a_port_of_its_own() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        shared = probe.getsockname()[1]
    first = listening_sockets("127.0.0.1", shared, ServiceSettings(http_reuse_port=True, http_own_port=0))
    second = listening_sockets("127.0.0.1", shared, ServiceSettings(http_reuse_port=True))
    assert first is not None and second is not None
    try:
        assert first[0].getsockname()[1] == second[0].getsockname()[1] == shared
        assert len(first) == 2 and first[1].getsockname()[1] != shared
    finally:
        for sock in [*first, *second]:
            sock.close()
    assert listening_sockets("127.0.0.1", shared, ServiceSettings()) is None  # one process: uvicorn binds


def test_stream_apps_produce_with_acks_all_and_idempotence() -> None:
    app = StreamApp("chaos-unit", broker="kafka://127.0.0.1:1")
    extra = app.producer._settings_extra()  # type: ignore[attr-defined]
    assert extra["acks"] == "all" and extra["enable_idempotence"] is True
    plain = StreamApp("chaos-unit-plain", broker="kafka://127.0.0.1:1", idempotent_producer=False)
    assert "enable_idempotence" not in plain.producer._settings_extra()  # type: ignore[attr-defined]
