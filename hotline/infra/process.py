"""Process helpers shared by the server harnesses: pid files, liveness, clean stop, log tails."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path


class InfraError(RuntimeError):
    """A server could not be fetched, started or stopped; `log_tail` holds its last log lines."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail

    def __str__(self) -> str:
        text = super().__str__()
        if self.log_tail:
            return f"{text}\n--- last lines of the server's log ---\n{self.log_tail}"
        return text


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def process_cmdline(pid: int) -> str:
    """The command line of a live process, '' when there is none (or it is a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def is_running(pid: int | None, marker: str) -> bool:
    """True when `pid` is alive and its command line contains `marker` (guards pid reuse)."""
    if pid is None or pid <= 0:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    if "\nState:\tZ" in status:
        return False
    return marker in process_cmdline(pid)


def _reap(pid: int) -> None:
    # A child of this very process must be waited for, or it lingers as a zombie.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def terminate(pid: int, marker: str, grace: float = 30.0) -> bool:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL; True if it had to be killed."""

    def gone() -> bool:
        _reap(pid)
        return not is_running(pid, marker)

    if gone():
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_until(gone, grace):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_until(gone, 10.0)
    return True


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 40) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data.splitlines()[-lines:])


def find_pids(*markers: str) -> list[int]:
    """Live processes whose command line contains every marker (for leftovers without pid files)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        line = process_cmdline(pid)
        if line and all(marker in line for marker in markers):
            found.append(pid)
    return found
