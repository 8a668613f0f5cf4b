"""A single-node Apache Kafka broker (KRaft, broker + controller) run from Maven Central's jars."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from hotline.infra.process import (
    InfraError,
    find_pids,
    is_running,
    port_open,
    read_pid,
    tail,
    terminate,
    wait_until,
)
from hotline.infra.runner import run_coroutine
from hotline.infra.settings import InfraSettings

log = structlog.get_logger(__name__)

# Pinned; deploy/kafka/pom.xml carries the same number (a unit test keeps them equal).
KAFKA_VERSION = "4.1.1"
MAIN_CLASS = "kafka.Kafka"

JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

LOG4J2_PROPERTIES = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def repo_pom() -> Path:
    """deploy/kafka/pom.xml of the source tree this package runs from (HOTLINE_KAFKA_POM wins)."""
    override = os.environ.get("HOTLINE_KAFKA_POM")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "pom.xml"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


@dataclass(frozen=True)
class ClusterNode:
    """This broker as one node of a local multi-node cluster (hotline.infra.cluster): every node is broker and
    controller, the quorum is static (`voters`: "1@host:port,2@host:port,..."), topics get `replication` replicas."""

    node_id: int
    voters: str
    cluster_id: str
    replication: int = 3
    min_insync: int = 2


@dataclass(frozen=True)
class KafkaStatus:
    running: bool
    pid: int | None
    bootstrap: str
    version: str
    log_file: Path
    data_dir: Path


class KafkaServer:
    """Fetches, formats, starts and stops the local broker; its files live in settings.kafka_dir."""

    def __init__(self, settings: InfraSettings, version: str = KAFKA_VERSION, node: ClusterNode | None = None) -> None:
        self.settings = settings
        self.version = version
        self.node = node
        self.home = settings.kafka_dir
        self.data_dir = self.home / "data"
        self.config_file = self.home / "server.properties"
        self.log4j_file = self.home / "log4j2.properties"
        self.log_file = self.home / "logs" / "server.log"
        self.console_file = self.home / "logs" / "console.out"
        self.pid_file = self.home / "kafka.pid"
        self.format_file = self.home / "format.json"

    # -- where ---------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"{self.settings.host}:{self.settings.kafka_port}"

    @property
    def libs_dir(self) -> Path:
        return self.settings.cache_dir / f"kafka-{self.version}" / "libs"

    @property
    def _fetched_marker(self) -> Path:
        return self.libs_dir.parent / "fetched.json"

    def is_fetched(self) -> bool:
        return self._fetched_marker.is_file() and any(self.libs_dir.glob("kafka_2.13-*.jar"))

    # -- fetch ---------------------------------------------------------------------------
    def fetch(self) -> Path:
        """Copy the broker's jars from Maven Central into the cache; a no-op once cached."""
        if self.is_fetched():
            return self.libs_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise InfraError("Maven (mvn) is not installed: install Debian's package `maven`")
        pom = repo_pom()
        if not pom.is_file():
            raise InfraError(f"the Kafka pom is missing at {pom} (set HOTLINE_KAFKA_POM)")
        staging = self.libs_dir.parent / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.parent.mkdir(parents=True, exist_ok=True)
        log.info("kafka.fetch", version=self.version, into=str(self.libs_dir))
        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            f"-Dkafka.version={self.version}",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            raise InfraError(
                f"Maven could not fetch Kafka {self.version} (exit {done.returncode})",
                (done.stdout + done.stderr)[-4000:],
            )
        shutil.rmtree(self.libs_dir, ignore_errors=True)
        staging.rename(self.libs_dir)
        jars = sorted(p.name for p in self.libs_dir.glob("*.jar"))
        self._fetched_marker.write_text(json.dumps({"version": self.version, "jars": jars}))
        return self.libs_dir

    # -- run -----------------------------------------------------------------------------
    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and Path(java_home, "bin", "java").is_file():
            return str(Path(java_home, "bin", "java"))
        java = shutil.which("java")
        if java is None:
            raise InfraError("Java is not installed: install Debian's package openjdk-17-jre-headless")
        return java

    def _classpath(self) -> str:
        return f"{self.libs_dir}/*"

    @property
    def _marker(self) -> str:
        # Our broker's command line names our config file: that tells it from any other JVM.
        return str(self.config_file)

    def pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        return pid if is_running(pid, self._marker) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def status(self) -> KafkaStatus:
        return KafkaStatus(
            running=self.is_running(),
            pid=self.pid(),
            bootstrap=self.bootstrap,
            version=self.version,
            log_file=self.log_file,
            data_dir=self.data_dir,
        )

    def _server_properties(self) -> str:
        s = self.settings
        settings: dict[str, Any] = {
            "process.roles": "broker,controller",
            "node.id": 1,
            "controller.quorum.bootstrap.servers": f"{s.host}:{s.kafka_controller_port}",
            "listeners": (f"PLAINTEXT://{s.host}:{s.kafka_port},CONTROLLER://{s.host}:{s.kafka_controller_port}"),
            "advertised.listeners": (
                f"PLAINTEXT://{s.host}:{s.kafka_port},CONTROLLER://{s.host}:{s.kafka_controller_port}"
            ),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": 1,
            "default.replication.factor": 1,
            "min.insync.replicas": 1,
            # One node: the internal topics must not ask for replicas that cannot exist,
            # or group commits, idempotent and transactional producers all stall.
            "offsets.topic.replication.factor": 1,
            "offsets.topic.num.partitions": 10,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "transaction.state.log.num.partitions": 10,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            # Tests start and stop consumer groups all the time: no 3 s wait on each first join.
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            "log.retention.hours": 24,
            "log.segment.bytes": 64 * 1024 * 1024,
        }
        if self.node is not None:
            settings.update(self._cluster_properties(self.node))
        return "".join(f"{key}={value}\n" for key, value in settings.items() if value is not None)

    @staticmethod
    def _cluster_properties(node: ClusterNode) -> dict[str, Any]:
        """A node of a replicated cluster: a static quorum, and every topic (internal ones too) replicated."""
        return {
            "node.id": node.node_id,
            "controller.quorum.bootstrap.servers": None,
            "controller.quorum.voters": node.voters,
            "default.replication.factor": node.replication,
            "min.insync.replicas": node.min_insync,
            "offsets.topic.replication.factor": node.replication,
            "transaction.state.log.replication.factor": node.replication,
            "transaction.state.log.min.isr": node.min_insync,
            "share.coordinator.state.topic.replication.factor": node.replication,
            "share.coordinator.state.topic.min.isr": node.min_insync,
            "unclean.leader.election.enable": "false",
            # a killed node is noticed within seconds, not the default 9 s / 18 s
            "broker.session.timeout.ms": 6000,
            "broker.heartbeat.interval.ms": 1000,
            # a reassignment's new preferred leader takes over within seconds, not the default 5 min
            "leader.imbalance.check.interval.seconds": 10,
        }

    def _write_config(self) -> None:
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self._server_properties())
        self.log4j_file.write_text(LOG4J2_PROPERTIES.format(log_file=self.log_file))

    def _format_if_needed(self) -> None:
        wanted: dict[str, Any] = {
            "version": self.version,
            "host": self.settings.host,
            "controller_port": self.settings.kafka_controller_port,
        }
        if self.node is not None:
            wanted |= {"cluster_id": self.node.cluster_id, "voters": self.node.voters}
        meta = self.data_dir / "meta.properties"
        if meta.is_file() and self.format_file.is_file():
            if json.loads(self.format_file.read_text()) == wanted:
                return
            # The controller's address is written into the metadata log at format time.
            log.info("kafka.reformat", reason="controller address or version changed")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        cluster_id = new_cluster_id() if self.node is None else self.node.cluster_id
        # one node elects itself (--standalone); a cluster's nodes share the static quorum of their config
        quorum = ["--standalone"] if self.node is None else []
        command = [
            self._java(),
            "-cp",
            self._classpath(),
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            "kafka.tools.StorageTool",
            "format",
            *quorum,
            "-t",
            cluster_id,
            "-c",
            str(self.config_file),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise InfraError(
                f"formatting Kafka storage failed (exit {done.returncode})",
                (done.stdout + done.stderr)[-4000:],
            )
        self.format_file.write_text(json.dumps(wanted))
        log.info("kafka.formatted", cluster_id=cluster_id, data_dir=str(self.data_dir))

    def start(self) -> bool:
        """Start the broker and wait until it answers a metadata request.

        Returns False when it was already running (nothing done), True when started now.
        """
        if self.is_running():
            self.wait_ready(self.is_running)
            return False
        process = self.launch()
        # poll(), not the command line: right after fork it is still Python's, not java's.
        self.wait_ready(lambda: process.poll() is None)
        log.info("kafka.ready", pid=process.pid, bootstrap=self.bootstrap)
        return True

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the JVM without waiting for it (a cluster's nodes wait for each other's quorum)."""
        s = self.settings
        for port in (s.kafka_port, s.kafka_controller_port):
            if port_open(s.host, port):
                raise InfraError(
                    f"{s.host}:{port} is taken by another process; stop it, or choose other "
                    "ports with HOTLINE_KAFKA_PORT / HOTLINE_KAFKA_CONTROLLER_PORT"
                )
        self.fetch()
        self.home.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self._format_if_needed()
        command = [
            self._java(),
            f"-Xms{s.kafka_heap}",
            f"-Xmx{s.kafka_heap}",
            *JVM_FLAGS,
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            f"-Dkafka.logs.dir={self.log_file.parent}",
            "-cp",
            self._classpath(),
            MAIN_CLASS,
            str(self.config_file),
        ]
        with self.console_file.open("ab") as console:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,  # outlives `hotline infra up`; no terminal signals
                close_fds=True,
            )
        _children.append(process)
        self.pid_file.write_text(f"{process.pid}\n")
        log.info("kafka.starting", pid=process.pid, bootstrap=self.bootstrap)
        return process

    def _log_tail(self) -> str:
        return "\n".join(part for part in (tail(self.log_file), tail(self.console_file, 15)) if part)

    def wait_ready(self, alive: Callable[[], bool]) -> None:
        """Block until a metadata request to the broker lists this broker, or raise."""
        state: dict[str, bool] = {"died": False}

        def answered() -> bool:
            if not alive():
                state["died"] = True
                return True
            if not port_open(self.settings.host, self.settings.kafka_port):
                return False
            return run_coroutine(metadata_ok(self.bootstrap))

        if not wait_until(answered, self.settings.kafka_start_timeout, interval=0.3):
            raise InfraError(
                f"Kafka at {self.bootstrap} did not answer a metadata request within "
                f"{self.settings.kafka_start_timeout:.0f} s (log: {self.log_file})",
                self._log_tail(),
            )
        if state["died"]:
            raise InfraError(f"Kafka exited during start-up (log: {self.log_file})", self._log_tail())

    def stop(self) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL after 60 s); True if one was running."""
        pids = set(find_pids(self._marker, MAIN_CLASS))
        pid = self.pid()
        if pid is not None:
            pids.add(pid)
        for each in sorted(pids):
            log.info("kafka.stopping", pid=each)
            if terminate(each, self._marker, grace=60.0):
                log.warning("kafka.killed", pid=each, reason="no exit within 60 s of SIGTERM")
        self.pid_file.unlink(missing_ok=True)
        return bool(pids)


# Popen objects of brokers started by this process, kept so that they are not reported as
# leaked while they run on purpose after a call returns.
_children: list[subprocess.Popen[bytes]] = []


async def metadata_ok(bootstrap: str, timeout_ms: int = 3000) -> bool:
    """True when a real metadata request to `bootstrap` returns at least one broker."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        await asyncio.wait_for(admin.start(), timeout_ms / 1000)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout_ms / 1000)
        return bool(cluster.get("brokers"))
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()
