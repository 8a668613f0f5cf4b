"""The bundled PostgreSQL commits durably by default; the unsafe test mode is named, and `hotline up` refuses it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hotline.infra.postgres import PostgresServer, durability_of, refuse_non_durable
from hotline.infra.process import InfraError
from hotline.infra.runner import run_coroutine
from hotline.infra.settings import InfraSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_server(tmp_path_factory: pytest.TempPathFactory):
    """A PostgreSQL server of this test's own (own folder and port), started with the given settings."""
    started: list[PostgresServer] = []

    def start(**options: object) -> PostgresServer:
        root = Path("/var/lib/hotline/tests") if Path("/var/lib/hotline").is_dir() else tmp_path_factory.mktemp("pg")
        folder = root / f"durability-{free_port()}"
        settings = InfraSettings(postgres_port=free_port(), postgres_dir=folder, **options)  # type: ignore[arg-type]
        server = PostgresServer(settings)
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
