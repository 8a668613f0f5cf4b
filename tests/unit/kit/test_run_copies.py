"""Several API processes on one port: `shared.runtime.run_copies` forks them, and one ending ends the group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from shared.runtime import run_copies

    folder = Path(sys.argv[1])

    def serve():
        (folder / str(os.getpid())).write_text(os.environ.get("HOTLINE_HTTP_REUSE_PORT", ""))
        if len(list(folder.iterdir())) >= int(sys.argv[4] if len(sys.argv) > 4 else sys.argv[2]):
            raise SystemExit(int(sys.argv[3]))  # the last copy to start ends
        time.sleep(60)

    run_copies(int(sys.argv[2]), serve)
    """
)


def run(folder: Path, copies: int, code: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, str(folder), str(copies), str(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )


def test_the_copies_share_the_port_and_one_ending_ends_them_all_with_its_status(tmp_path: Path):
    done = run(tmp_path, 3, 7)
    assert done.returncode == 7, done.stderr  # the group's status is the copy's: its supervisor restarts it
    copies = [int(p.name) for p in tmp_path.iterdir()]
    assert len(copies) == 3
    assert all(p.read_text() == "true" for p in tmp_path.iterdir())  # each binds the port with SO_REUSEPORT
    time.sleep(0.5)
    assert not any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in copies)  # no copy left behind


def test_one_copy_is_the_process_itself(tmp_path: Path):
    done = run(tmp_path, 1, 3)
    assert done.returncode == 3
    assert len(list(tmp_path.iterdir())) == 1


def test_a_kill_9_of_the_parent_leaves_no_copy_serving(tmp_path: Path):
    parent = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, str(tmp_path), "2", "0", "99"],  # no copy ends by itself
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ},
    )
    deadline = time.monotonic() + 30
    while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    copies = [int(p.name) for p in tmp_path.iterdir()]
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in copies) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in copies)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
