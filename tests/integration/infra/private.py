"""A broker of a test's own, on free ports: for tests that stop it (the session's broker is shared)."""

from __future__ import annotations

import socket
from pathlib import Path

from hotline.infra.settings import InfraSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def private_broker_settings(state_dir: Path) -> InfraSettings:
    return InfraSettings(
        infra_state_dir=state_dir, kafka_port=free_port(), kafka_controller_port=free_port(), kafka_heap="256m"
    )


def private_postgres_settings(root: Path, **options: object) -> InfraSettings:
    """A PostgreSQL server of a test's own (own folder under `root` and own port); as root, /var/lib/hotline/tests."""
    base = Path("/var/lib/hotline/tests") if Path("/var/lib/hotline").is_dir() else root
    port = free_port()
    return InfraSettings(postgres_port=port, postgres_dir=base / f"pg-{port}", **options)  # type: ignore[arg-type]
