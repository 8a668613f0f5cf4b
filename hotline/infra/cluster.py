"""A local three-node Apache Kafka cluster (KRaft, every node broker and controller, replication 3, min ISR 2).

Each node is a `KafkaServer` of its own folder and ports, run from the same cached release jars as the single
development broker; the quorum is static (`controller.quorum.voters`), so any node may be killed and restarted
and rejoins with its data. Used by `hotline chaos`; nothing here touches the shared broker of `hotline infra`.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hotline.infra.kafka import ClusterNode, KafkaServer, new_cluster_id
from hotline.infra.process import InfraError, wait_until
from hotline.infra.runner import run_coroutine
from hotline.infra.settings import InfraSettings

NODES = 3
REPLICATION = 3
MIN_INSYNC = 2


def free_port(host: str = "127.0.0.1") -> int:
    """A free port below the kernel's ephemeral range, where no outgoing connection can take it meanwhile.

    A port the kernel hands out (bind to 0) comes from the ephemeral range, and minutes later, when a restarted
    process listens on it again, some client connection may hold it as its local port: "address already in use".
    """
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(max(1024, low - 12_000), low)  # noqa: S311 - a port number, not a secret
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise InfraError(f"no free port below {low} on {host}")


_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


@dataclass
class KafkaCluster:
    """Three KafkaServers in `folder`: start, kill -9 / restart one node, find the active controller."""

    folder: Path
    heap: str = "384m"
    host: str = "127.0.0.1"
    start_timeout: float = 180.0

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        layout = self.folder / "cluster.json"
        if layout.is_file():
            saved = json.loads(layout.read_text())
        else:
            saved = {
                "cluster_id": new_cluster_id(),
                "ports": [[free_port(self.host), free_port(self.host)] for _ in range(NODES)],
            }
            layout.write_text(json.dumps(saved))
        ports: list[list[int]] = saved["ports"]
        voters = ",".join(f"{i + 1}@{self.host}:{controller}" for i, (_, controller) in enumerate(ports))
        self.nodes: dict[int, KafkaServer] = {}
        for i, (broker, controller) in enumerate(ports):
            settings = InfraSettings(
                host=self.host,
                infra_state_dir=self.folder / f"node-{i + 1}",
                kafka_port=broker,
                kafka_controller_port=controller,
                kafka_heap=self.heap,
                kafka_start_timeout=self.start_timeout,
            )
            node = ClusterNode(i + 1, voters, saved["cluster_id"], REPLICATION, MIN_INSYNC)
            self.nodes[i + 1] = KafkaServer(settings, node=node)

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes.values())

    def start(self) -> None:
        """Start every node not running, then wait until each answers a metadata request."""
        launched = {i: node.launch() for i, node in self.nodes.items() if not node.is_running()}
        for i, node in self.nodes.items():
            node.wait_ready(_alive(launched[i]) if i in launched else node.is_running)
        if not wait_until(lambda: len(self.brokers_up()) == NODES, self.start_timeout, interval=0.5):
            raise InfraError(f"the Kafka cluster did not show {NODES} brokers within {self.start_timeout:.0f} s")

    def restart(self, node_id: int, wait: bool = True) -> None:
        """Start a node again (after a kill); with `wait`, until it answers a metadata request."""
        node = self.nodes[node_id]
        process = node.launch()
        if wait:
            node.wait_ready(lambda: process.poll() is None)

    def pid(self, node_id: int) -> int | None:
        return self.nodes[node_id].pid()

    def kill(self, node_id: int) -> None:
        """kill -9 of one node's JVM (no clean shutdown: its log is recovered at the next start)."""
        pid = self.pid(node_id)
        if pid is None:
            raise InfraError(f"Kafka node {node_id} is not running")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: self.pid(node_id) is None, 10.0)

    def controller(self) -> int:
        """The active KRaft controller: the leader named in the newest quorum-state file of the nodes."""
        best = (-1, 1)
        for node in self.nodes.values():
            path = node.data_dir / "__cluster_metadata-0" / "quorum-state"
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            epoch, leader = int(state.get("leaderEpoch", -1)), int(state.get("leaderId", -1))
            if leader > 0 and epoch > best[0]:
                best = (epoch, leader)
        return best[1]

    def brokers_up(self) -> set[int]:
        """Node ids the cluster's metadata lists as brokers now."""
        return run_coroutine(_brokers(self.bootstrap))

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM to every node at once (the last one alone would wait for a quorum that is gone), then SIGKILL."""
        pids = [pid for pid in (node.pid() for node in self.nodes.values()) if pid is not None]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        wait_until(lambda: all(node.pid() is None for node in self.nodes.values()), grace)
        for node in self.nodes.values():
            node.stop()  # SIGKILL after its own grace, for a node still there; removes the pid file

    def wait_full_isr(self, topics: list[str], timeout: float) -> bool:
        """True once every partition of `topics` has all its replicas in sync again."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if run_coroutine(_under_replicated(self.bootstrap, topics)) == 0:
                return True
            time.sleep(0.5)
        return False


def _alive(process: subprocess.Popen[bytes]) -> Callable[[], bool]:
    return lambda: process.poll() is None


async def _brokers(bootstrap: str) -> set[int]:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return {int(b["node_id"]) for b in cluster.get("brokers", [])}
    except (KafkaError, OSError, TimeoutError):
        return set()
    finally:
        await admin.close()


async def _under_replicated(bootstrap: str, topics: list[str]) -> int:
    """How many partitions of `topics` have fewer in-sync replicas than replicas (-1 when not known)."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        described = await admin.describe_topics(topics)
    except (KafkaError, OSError, TimeoutError):
        return -1
    finally:
        await admin.close()
    under = 0
    for topic in described:
        for partition in topic.get("partitions", []):
            if len(partition.get("isr", [])) < len(partition.get("replicas", [])):
                under += 1
    return under
