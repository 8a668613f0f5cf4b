"""A real Kannel for the tests: bearerbox + smsbox with Kannel's fake SMSC, and a fakesmsc client that records each SMS.

Debian's `kannel` gives bearerbox and smsbox, `kannel-extras` the test programs (`fakesmsc`, and
`drive_smpp`, an SMPP SMSC that the SMPP adapter's test binds to). Everything listens on free
loopback ports with a generated configuration in a temporary folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

import httpx

from hotline.infra.cluster import free_port  # below the ephemeral range: no client connection takes it
from hotline.infra.process import InfraError, port_open, tail

BEARERBOX = Path(os.environ.get("HOTLINE_KANNEL_BEARERBOX", "/usr/sbin/bearerbox"))
SMSBOX = Path(os.environ.get("HOTLINE_KANNEL_SMSBOX", "/usr/sbin/smsbox"))
TEST_PROGRAMS = Path(os.environ.get("HOTLINE_KANNEL_TEST_DIR", "/usr/lib/kannel/test"))
FAKESMSC = TEST_PROGRAMS / "fakesmsc"
DRIVE_SMPP = TEST_PROGRAMS / "drive_smpp"

# fakesmsc prints each message the SMSC side got: "Got message 3: <from to ucs-2 url-encoded-data>", and each
# part of a long one as "<from to udh %05%00%03<ref><total><seq> data <url-encoded UCS-2 part>>"
_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) ?(.*)>\s*$")
_PART = re.compile(r"^(\S+) data (\S*)$")


@dataclass(frozen=True)
class FakeSms:
    """One SMS as it reached Kannel's fake SMSC, with the (wall-clock) time this process read it."""

    sender: str
    to: str
    text: str
    at: float


def decode_fake(kind: str, data: str) -> str:
    raw = unquote_to_bytes(data.replace("+", "%20"))
    if kind == "ucs-2":
        return raw.decode("utf-16-be", errors="replace")
    return raw.decode("utf-8", errors="replace")


def listening(port: int) -> bool:
    """A socket listens on the loopback port (read from /proc: connecting would be taken as the SMSC's client)."""
    wanted = f":{port:04X} "
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if len(fields) > 3 and (fields[1] + " ").endswith(wanted) and fields[3] == "0A":
                    return True
    return False


def stop_group(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM the process group, SIGKILL it after 10 s."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _smsc(ports: dict[str, int], smpp_port: int | None) -> str:
    """Kannel's fake SMSC (fakesmsc connects to it), or an SMPP connection to a real SMSC on `smpp_port`."""
    if smpp_port is None:
        return f"""
group = smsc
smsc = fake
smsc-id = fake
host = 127.0.0.1
port = {ports["fake"]}
connect-allow-ip = "127.0.0.1"
"""
    return f"""
group = smsc
smsc = smpp
smsc-id = smpp
host = 127.0.0.1
port = {smpp_port}
transceiver-mode = true
smsc-username = hotline
smsc-password = smpp-test
system-type = ""
enquire-link-interval = 30
reconnect-delay = 1
"""


def _config(folder: Path, ports: dict[str, int], password: str, smpp_port: int | None = None) -> str:
    return f"""
group = core
admin-port = {ports["admin"]}
admin-password = {password}
admin-interface = 127.0.0.1
smsbox-port = {ports["smsbox"]}
box-allow-ip = "127.0.0.1"
log-file = "{folder}/bearerbox.log"
log-level = 1
dlr-storage = internal
{_smsc(ports, smpp_port)}
group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports["smsbox"]}
sendsms-port = {ports["sendsms"]}
sendsms-interface = 127.0.0.1
log-file = "{folder}/smsbox.log"
log-level = 1

group = sendsms-user
username = hotline
password = {password}
max-messages = 4
concatenation = true

group = sms-service
keyword = default
text = "no service"
catch-all = true
"""


class KannelProcess:
    """bearerbox, smsbox and a fakesmsc client, each in its own process group, stopped together.

    With `smpp_port`, bearerbox binds over SMPP (transceiver) to the SMSC listening there instead of the
    fake SMSC, and no fakesmsc runs: what arrives is the SMSC's to record (the SMPP delivery test).
    """

    username = "hotline"

    def __init__(self, folder: Path, smpp_port: int | None = None) -> None:
        self.folder = folder
        self.smpp_port = smpp_port
        self.password = secrets.token_hex(8)
        self.ports = {name: free_port() for name in ("admin", "smsbox", "fake", "sendsms")}
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._received: list[FakeSms] = []
        self._parts: dict[tuple[str, int], dict[int, str]] = {}
        self._lock = threading.Lock()

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sendsms']}"

    def _spawn(self, name: str, command: list[str], *, pipe: bool = False) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.out").open("wb")
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE if pipe else log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.folder,
        )
        self._processes[name] = process
        return process

    def _wait_port(self, name: str, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._processes[name].poll() is not None:
                raise InfraError(f"Kannel's {name} exited with {self._processes[name].returncode}", self._logs())
            if port_open("127.0.0.1", port):
                return
            time.sleep(0.1)
        raise InfraError(f"Kannel's {name} not listening on {port} after {timeout:.0f} s", self._logs())

    def _logs(self) -> str:
        return "\n".join(tail(path, 15) for path in sorted(self.folder.glob("*.log")))

    def _read_fake(self, stream: object) -> None:
        out = (self.folder / "fakesmsc.out").open("a")
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            line = raw.decode(errors="replace")
            out.write(line)
            out.flush()
            match = _GOT.search(line)
            if not match:
                continue
            sender, to, kind, data = match.groups()
            text = self._joined(to, data) if kind == "udh" else decode_fake(kind, data)
            if text is not None:
                with self._lock:
                    self._received.append(FakeSms(sender, to, text, time.time()))

    def _joined(self, to: str, data: str) -> str | None:
        """A long SMS comes in parts (concatenation UDH); it counts as received once its last part is in."""
        part = _PART.match(data)
        if part is None:
            return None
        udh = unquote_to_bytes(part.group(1))
        if len(udh) < 6 or udh[1] != 0x00:
            return None
        reference, total, sequence = udh[3], udh[4], udh[5]
        parts = self._parts.setdefault((to, reference), {})
        parts[sequence] = decode_fake("ucs-2", part.group(2))  # shared/sms sends UCS-2 (coding 2)
        if len(parts) < total:
            return None
        del self._parts[(to, reference)]
        return "".join(parts[i] for i in sorted(parts))

    def start(self, timeout: float = 30.0) -> None:
        for program in (BEARERBOX, SMSBOX, FAKESMSC):
            if not program.is_file():
                raise InfraError(f"{program} is missing: install Debian's kannel and kannel-extras (scripts/setup.sh)")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "kannel.conf"
        config.write_text(_config(self.folder, self.ports, self.password, self.smpp_port))
        self._spawn("bearerbox", [str(BEARERBOX), str(config)])
        self._wait_port("bearerbox", self.ports["admin"], timeout)
        if self.smpp_port is None:
            # -m 0: the fake SMSC's client sends no message of its own; it prints every one it is sent
            fake = self._spawn(
                "fakesmsc",
                [
                    str(FAKESMSC),
                    "-H",
                    "127.0.0.1",
                    "-r",
                    str(self.ports["fake"]),
                    "-m",
                    "0",
                    "-i",
                    "3600",
                    "1 2 text -",
                ],
                pipe=True,
            )
            threading.Thread(target=self._read_fake, args=(fake.stdout,), daemon=True).start()
        self._spawn("smsbox", [str(SMSBOX), str(config)])
        self._wait_port("smsbox", self.ports["sendsms"], timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # the fake SMSC is connected: bearerbox routes to it
            status = httpx.get(
                f"http://127.0.0.1:{self.ports['admin']}/status.txt", params={"password": self.password}, timeout=2
            ).text
            if re.search(r"fake\[fake\].*\(online" if self.smpp_port is None else r"\[smpp\].*\(online", status):
                return
            time.sleep(0.2)
        raise InfraError("Kannel's SMSC connection did not come online", self._logs())

    def received(self) -> list[FakeSms]:
        with self._lock:
            return list(self._received)

    async def wait_for(self, count: int, seconds: float) -> list[FakeSms]:
        """Every SMS so far once there are `count` (or after `seconds`), without blocking the event loop."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got = self.received()
            if len(got) >= count:
                return got
            await asyncio.sleep(0.02)
        return self.received()

    def stop(self) -> None:
        for name in ("smsbox", "fakesmsc", "bearerbox"):
            stop_group(self._processes.pop(name, None))


class DriveSmpp:
    """Kannel's `drive_smpp`: an SMPP SMSC on a free port that takes bind_transmitter and submit_sm and logs them."""

    def __init__(self, folder: Path, messages: int) -> None:
        self.folder = folder
        self.port = free_port()
        self.messages = messages
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / "drive_smpp.log"

    def start(self, timeout: float = 10.0) -> None:
        if not DRIVE_SMPP.is_file():
            raise InfraError(f"{DRIVE_SMPP} is missing: install Debian's kannel-extras (scripts/setup.sh)")
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(DRIVE_SMPP), "-v", "0", "-p", str(self.port), "-m", str(self.messages)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.folder,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise InfraError(f"drive_smpp exited with {self.process.returncode}", tail(self.log))
            if listening(self.port):
                return
            time.sleep(0.1)
        raise InfraError("drive_smpp is not listening", tail(self.log))

    def stop(self) -> None:
        stop_group(self.process)
