"""Identity as a real process on a free port, on its own fresh PostgreSQL database; the CLI against it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class IdentityProcess:
    url: str
    env: dict[str, str]
    log: Path

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """`hotline ARGS` against this identity's database, as ops would run it."""
        return subprocess.run(
            [sys.executable, "-m", "hotline", *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def identity_process(fresh_database_url: str, tmp_path: Path) -> Iterator[IdentityProcess]:
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_IDENTITY_DATABASE_URL": fresh_database_url,
        "HOTLINE_STATE_DIR": str(tmp_path / "state"),
        "HOTLINE_API_PORT": str(port),
        "HOTLINE_LOG_JSON": "true",
        # the single sign-on provider sends the browser back here
        "HOTLINE_IDENTITY_OIDC_REDIRECT_BASE": f"http://127.0.0.1:{port}",
    }
    env.pop("HOTLINE_JWKS_URL", None)
    log = tmp_path / "identity.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hotline", "service", "run", "identity", "--role", "all"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise AssertionError(f"identity exited {process.returncode}: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"identity not ready: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield IdentityProcess(url, env, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
