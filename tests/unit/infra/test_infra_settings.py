"""`hotline infra` without servers: settings from the environment, broker config, addresses, topic names."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from hotline.infra.harness import Endpoints, ensure_kafka, ensure_postgres, infra_status
from hotline.infra.kafka import KAFKA_VERSION, KafkaServer, new_cluster_id, repo_pom
from hotline.infra.postgres import DATABASES, SERVICE_DATABASES, PostgresServer
from hotline.infra.settings import InfraSettings
from hotline.infra.topics import unique_topic_name


def test_the_pom_pins_the_same_kafka_version_as_the_code():
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(repo_pom()).getroot().find("m:properties/m:kafka.version", namespace)
    assert version is not None and version.text == KAFKA_VERSION
    assert KAFKA_VERSION.startswith("4.")


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTLINE_KAFKA_PORT", "29092")
    monkeypatch.setenv("HOTLINE_POSTGRES_PORT", "25432")
    monkeypatch.setenv("HOTLINE_INFRA_STATE_DIR", str(tmp_path / "state"))
    settings = InfraSettings()
    assert KafkaServer(settings).bootstrap == "127.0.0.1:29092"
    assert PostgresServer(settings).url("intake") == "postgresql+asyncpg://hotline:hotline@127.0.0.1:25432/intake"
    assert settings.kafka_dir == tmp_path / "state" / "kafka"


def test_default_ports_are_loopback_and_not_the_usual_ones():
    settings = InfraSettings()
    assert settings.host == "127.0.0.1"
    assert {settings.kafka_port, settings.kafka_controller_port, settings.postgres_port}.isdisjoint({9092, 9093, 5432})


def test_broker_config_is_single_node_kraft_with_replication_factor_one(tmp_path):
    server = KafkaServer(InfraSettings(infra_state_dir=tmp_path))
    config = dict(
        line.split("=", 1) for line in server._server_properties().splitlines() if line and not line.startswith("#")
    )
    assert config["process.roles"] == "broker,controller"
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "min.insync.replicas",
    ):
        assert config[key] == "1", key
    assert config["group.initial.rebalance.delay.ms"] == "0"
    assert config["log.dirs"] == str(tmp_path / "kafka" / "data")


def test_cluster_ids_are_kafka_shaped():
    for _ in range(50):
        cluster_id = new_cluster_id()
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id) and not cluster_id.startswith("-")


def test_a_database_per_service_plus_development_and_tests():
    assert set(SERVICE_DATABASES) == {
        "intake",
        "dispatch",
        "sla_monitor",
        "callback",
        "identity",
        "knowledge",
        "reporting",
        "outbound",
        "console",
    }
    assert set(SERVICE_DATABASES) < set(DATABASES)


def test_addresses_from_the_environment_win_and_start_nothing(tmp_path):
    settings = InfraSettings(infra_state_dir=tmp_path, kafka_port=1, postgres_port=1)
    env = {"KAFKA_BOOTSTRAP": "broker.example:9092", "DATABASE_URL": "postgresql+asyncpg://u:secret@db/x"}
    assert ensure_kafka(settings, env) == ("broker.example:9092", False)
    assert ensure_postgres(settings, env) == ("postgresql+asyncpg://u:secret@db/x", False)
    assert not Path(tmp_path / "kafka").exists()


def test_status_shows_external_servers_without_their_password(tmp_path):
    settings = InfraSettings(infra_state_dir=tmp_path, postgres_dir=tmp_path / "pg")
    rows = infra_status(settings, {"DATABASE_URL": "postgresql+asyncpg://u:secret@db:5432/x"})
    external = [row for row in rows if row.state == "external"]
    assert [row.name for row in external] == ["postgres"]
    assert "secret" not in external[0].address
    assert {row.state for row in rows if row.state != "external"} == {"stopped"}


def test_up_prints_shell_assignments():
    endpoints = Endpoints("127.0.0.1:19092", "postgresql+asyncpg://hotline:hotline@127.0.0.1:15432/hotline")
    assert endpoints.as_env_lines() == [
        "KAFKA_BOOTSTRAP=127.0.0.1:19092",
        "DATABASE_URL=postgresql+asyncpg://hotline:hotline@127.0.0.1:15432/hotline",
    ]


def test_topic_names_are_unique_and_valid():
    names = {unique_topic_name("test_group[3 partitions]") for _ in range(100)}
    assert len(names) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in names)


def test_the_bundled_postgres_is_written_durable_unless_the_unsafe_test_mode_is_named(tmp_path):
    from hotline.infra.postgres import DURABLE, SERVER_CONF, UNSAFE_NO_FSYNC

    assert "fsync = on" in DURABLE and "synchronous_commit = on" in DURABLE and "full_page_writes = on" in DURABLE
    assert "fsync = off" in UNSAFE_NO_FSYNC
    assert InfraSettings().postgres_unsafe_no_fsync is False  # the default `hotline infra up` and `hotline up` get
    assert "{durability}" in SERVER_CONF
