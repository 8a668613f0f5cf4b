"""The bundled PostgreSQL commits durably by default; the unsafe test mode is named, and `hotline up` refuses it."""

from __future__ import annotations

import pytest

from hotline.infra.postgres import PostgresServer, durability_of, refuse_non_durable
from hotline.infra.process import InfraError
from hotline.infra.runner import run_coroutine
from tests.integration.infra.private import private_postgres_settings


@pytest.fixture
def private_server(tmp_path_factory: pytest.TempPathFactory):
    """A PostgreSQL server of this test's own (own folder and port), started with the given settings."""
    started: list[PostgresServer] = []

    def start(**options: object) -> PostgresServer:
        server = PostgresServer(private_postgres_settings(tmp_path_factory.mktemp("pg"), **options))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_the_bundled_server_is_durable_by_default_and_hotline_up_accepts_it(private_server):
    server = private_server()
    assert run_coroutine(durability_of(server.url())) == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
    }
    refuse_non_durable(server.url())  # no error


def test_the_unsafe_test_mode_loses_durability_and_hotline_up_refuses_it(private_server):
    server = private_server(postgres_unsafe_no_fsync=True)
    assert run_coroutine(durability_of(server.url()))["fsync"] == "off"
    with pytest.raises(InfraError, match=r"fsync=off.*HOTLINE_POSTGRES_UNSAFE_NO_FSYNC"):
        refuse_non_durable(server.url())
