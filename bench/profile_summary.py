"""Summarises py-spy collapsed-stack files (`py-spy record --format raw`): where the samples went, as text.

    python -m bench.profile_summary PROFILE.txt [--top 25] [--match services/ shared/]

Self time per function (the frame on top of the stack) and inclusive time per function (anywhere on
the stack, counted once per sample), as shares of all samples; idle samples (the event loop waiting
in select/epoll) are counted apart so that "busy" shares add up to the CPU the process used.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

IDLE = ("select (selectors.py", "_run_once (asyncio/base_events.py", "epoll")


def summarise(path: Path, top: int, match: list[str]) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if frame]
        if not frames:
            continue
        total += count
        leaf = frames[-1]
        if leaf.startswith("select (") or "epoll" in leaf:
            idle += count
            continue
        own[leaf] += count
        for frame in set(frames):
            if not match or any(m in frame for m in match):
                inclusive[frame] += count
    busy = max(1, total - idle)
    lines = [f"{path.name}: {total} samples, {idle} idle ({100 * idle / max(1, total):.0f} %), {busy} busy"]
    lines.append("  self (share of busy samples):")
    for frame, count in own.most_common(top):
        lines.append(f"    {100 * count / busy:5.1f} %  {frame}")
    lines.append("  inclusive (share of busy samples):")
    for frame, count in inclusive.most_common(top):
        lines.append(f"    {100 * count / busy:5.1f} %  {frame}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", nargs="*", default=[], help="inclusive list: only frames containing one of these")
    args = parser.parse_args(argv)
    for path in args.files:
        sys.stdout.write(summarise(path, args.top, args.match) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
