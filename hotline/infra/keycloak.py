"""A real Keycloak (the OpenID Connect provider of the identity tests), from its Maven Central distribution.

`fetch()` unpacks `org.keycloak:keycloak-quarkus-dist` (deploy/keycloak/pom.xml) into the cache once;
`KeycloakProcess` runs `kc.sh start-dev` on a loopback port with an in-memory database on a Java 21+
JDK (HOTLINE_KEYCLOAK_JAVA_HOME, default the Temurin 25 JDK; Kafka keeps the machine's Java 17), and
`import_realm()` loads a realm through the admin REST API.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from hotline.infra.process import InfraError, tail
from hotline.infra.settings import InfraSettings

# Pinned; deploy/keycloak/pom.xml carries the same number.
KEYCLOAK_VERSION = "26.5.6"
DEFAULT_JAVA_HOME = "/usr/lib/jvm/temurin-25-jdk-amd64"
ADMIN_USER = "bootstrap-admin"


def repo_pom() -> Path:
    return Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "pom.xml"


def keycloak_home(settings: InfraSettings, version: str = KEYCLOAK_VERSION) -> Path:
    return settings.cache_dir / f"keycloak-{version}" / f"keycloak-{version}"


def fetch(settings: InfraSettings, version: str = KEYCLOAK_VERSION) -> Path:
    """The unpacked distribution (kc.sh and its jars), fetched with Maven once and cached."""
    home = keycloak_home(settings, version)
    if (home / "bin" / "kc.sh").is_file():
        return home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError("Maven (mvn) is not installed: install Debian's package `maven`")
    staging = home.parent.parent / f"keycloak-{version}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(repo_pom()),
        f"-Dkeycloak.version={version}",
        "dependency:unpack-dependencies",
        "-DincludeArtifactIds=keycloak-quarkus-dist",
        "-DexcludeTransitive=true",
        f"-DoutputDirectory={staging}",
        f"-DmarkersDirectory={staging}.markers",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not (staging / f"keycloak-{version}" / "bin" / "kc.sh").is_file():
        raise InfraError(f"Maven could not fetch Keycloak {version}", (done.stdout + done.stderr)[-4000:])
    shutil.rmtree(home.parent, ignore_errors=True)
    staging.rename(home.parent)
    shutil.rmtree(f"{staging}.markers", ignore_errors=True)
    return home


def java_home() -> str:
    chosen = os.environ.get("HOTLINE_KEYCLOAK_JAVA_HOME", DEFAULT_JAVA_HOME)
    if not Path(chosen, "bin", "java").is_file():
        raise InfraError(f"Keycloak needs Java 21+: no JDK at {chosen} (set HOTLINE_KEYCLOAK_JAVA_HOME)")
    return chosen


class KeycloakProcess:
    """One Keycloak in dev mode (in-memory database) on `port`, stopped with its process group."""

    def __init__(self, home: Path, port: int, log_file: Path, admin_password: str) -> None:
        self.home = home
        self.port = port
        self.log_file = log_file
        self.admin_password = admin_password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240.0) -> None:
        env = {
            **os.environ,
            "JAVA_HOME": java_home(),
            "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password,
            # a small heap: tests share the machine with Kafka, PostgreSQL and the services
            "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx512m",
        }
        command = [
            str(self.home / "bin" / "kc.sh"),
            "start-dev",
            "--db=dev-mem",
            "--http-host=127.0.0.1",
            f"--http-port={self.port}",
            "--health-enabled=false",
            "--cache=local",
        ]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise InfraError(f"Keycloak exited with {self.process.returncode}", tail(self.log_file))
            try:
                if httpx.get(f"{self.url}/realms/master", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise InfraError(f"Keycloak not ready after {timeout:.0f} s", tail(self.log_file))

    def admin_token(self) -> str:
        response = httpx.post(
            f"{self.url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": ADMIN_USER,
                "password": self.admin_password,
            },
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def import_realm(self, realm: dict[str, Any]) -> None:
        """Create a realm (clients, groups, users, mappers) from its JSON representation."""
        response = httpx.post(
            f"{self.url}/admin/realms",
            json=realm,
            headers={"Authorization": f"Bearer {self.admin_token()}"},
            timeout=120,
        )
        if response.status_code != 201:
            raise InfraError(f"realm import refused: {response.status_code} {response.text[:500]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
