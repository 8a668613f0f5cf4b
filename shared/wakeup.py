"""The loop of every background sender (outbox relay, SMS, webhooks, 12345): a batch, then sleep until nudged.

A sender does one batch, then waits for `notify()` (a commit that just wrote rows) or its poll interval,
whichever comes first. The wake-up is cleared before the batch, never after it, so a nudge that arrives while a
batch runs is kept. A failed batch (database or broker down) is logged and retried, waiting longer each time up to
`max_backoff`; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class Wakeup:
    """The nudge a committing request gives a sender, and the sender's loop around its batch."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()

    async def run(
        self,
        stop: asyncio.Event,
        batch: Callable[[], Awaitable[int]],
        *,
        poll: float | Callable[[], float],
        again_at: int = 1,
        max_backoff: float | None = None,
        failure_event: str,
        **fields: Any,
    ) -> None:
        """`batch()` returns how many it handled; `again_at` or more runs the next batch at once.

        `poll` may be a function: a sender that learns of commits another way (LISTEN) polls less often.
        """
        interval = poll if callable(poll) else (lambda: poll)
        backoff = interval()
        while not stop.is_set():
            started = time.monotonic()
            self._event.clear()
            try:
                done = await batch()
                backoff = interval()
            except Exception as error:  # the rows stay; try again later
                log.warning(failure_event, error=str(error), retry_in=backoff, **fields)
                done = 0
                backoff = min(backoff * 2, max_backoff if max_backoff is not None else interval())
            if done >= again_at:
                continue
            try:
                await asyncio.wait_for(self._event.wait(), timeout=max(0.0, backoff - (time.monotonic() - started)))
            except TimeoutError:
                pass
