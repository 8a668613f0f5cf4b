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
