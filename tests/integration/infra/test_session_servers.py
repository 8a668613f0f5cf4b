"""Test sessions share a server: the one that started it stops it, and only once nobody else uses it."""

from __future__ import annotations

from pathlib import Path

from hotline.infra.harness import server_for_session
from hotline.infra.kafka import KafkaServer
from hotline.infra.settings import InfraSettings
from tests.integration.infra.private import free_port as _free_port
from tests.integration.infra.private import private_broker_settings


def test_a_session_stops_the_broker_it_started_only_after_the_last_user_is_done(tmp_path: Path):
    settings = private_broker_settings(tmp_path / "state")
    broker = KafkaServer(settings)
    try:
        with server_for_session("kafka", settings, env={}) as first:
            assert first == broker.bootstrap
            with server_for_session("kafka", settings, env={}) as second:
                assert second == first
            assert broker.is_running(), "the second session must not stop a broker the first one still uses"
        assert not broker.is_running(), "the session that started the broker stops it when the last user ends"
    finally:
        broker.stop()


def test_an_address_from_the_environment_is_used_and_nothing_is_started(tmp_path: Path):
    settings = InfraSettings(infra_state_dir=tmp_path / "state", kafka_port=_free_port())
    with server_for_session("kafka", settings, env={"KAFKA_BOOTSTRAP": "127.0.0.1:1"}) as address:
        assert address == "127.0.0.1:1"
        assert not KafkaServer(settings).is_running()
