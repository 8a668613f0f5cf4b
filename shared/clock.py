"""The time source every service is handed (never `datetime.now()` inline), and its test/demo variants."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """Production: the machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """Tests: stands still until told to move."""

    current: datetime

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("a FixedClock needs an aware instant")

    def now(self) -> datetime:
        return self.current

    def advance(self, by: timedelta) -> datetime:
        self.current += by
        return self.current

    def set(self, instant: datetime) -> None:
        self.current = instant


@dataclass(frozen=True)
class ScaledClock:
    """Demo and simulation only: time runs `speed` times faster from (`epoch_real`, `epoch_simulated`).

    Every process given the same three values agrees on the simulated time, because it is derived
    from the wall clock, not from when each process started.
    """

    speed: float
    epoch_real: datetime
    epoch_simulated: datetime
    _wall: object = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("clock speed must be positive")
        if self.epoch_real.tzinfo is None or self.epoch_simulated.tzinfo is None:
            raise ValueError("clock epochs must be aware instants")

    def now(self) -> datetime:
        wall = self._wall() if callable(self._wall) else time.time()
        elapsed = wall - self.epoch_real.timestamp()
        return self.epoch_simulated + timedelta(seconds=elapsed * self.speed)

    def real_seconds(self, simulated: timedelta) -> float:
        """How long to really wait for `simulated` time to pass."""
        return simulated.total_seconds() / self.speed


def clock_from_settings(speed: float = 1.0, epoch_real: str | None = None, epoch_simulated: str | None = None) -> Clock:
    """The system clock unless a speed-up is configured (HOTLINE_CLOCK_* — a demo setting, never production)."""
    if speed == 1.0 and not epoch_simulated:
        return SystemClock()
    real = datetime.fromisoformat(epoch_real) if epoch_real else datetime.now(UTC)
    simulated = datetime.fromisoformat(epoch_simulated) if epoch_simulated else real
    return ScaledClock(speed, real, simulated)
