"""A small in-process sliding-window limiter for sign-in attempts (per username, per client address).

Each API process counts on its own: with N replicas an attacker gets N times the budget, which the
account lockout (kept in the database) still bounds. Written here because shared/ has no limiter
yet (issue 14 adds one); swap it for that one when it lands.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class SlidingWindowLimiter:
    limit: int
    window_seconds: float = 60.0
    max_keys: int = 100_000
    _hits: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> int | None:
        """Record an attempt at `now` (monotonic seconds); seconds to wait when over the limit, else None."""
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._evict(now)
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= self.window_seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(self.window_seconds - (now - hits[0])))
        hits.append(now)
        return None

    def _evict(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self.window_seconds]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:
            # still full of live keys: forget the oldest half rather than grow without bound
            for key in list(self._hits)[: self.max_keys // 2]:
                del self._hits[key]
