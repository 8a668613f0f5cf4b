"""The call pop fetched the moment CallOffered reaches the console, not when the browser asks for it.

The browser hears the call on its stream and then asks for the pop; meanwhile the pop's API calls are already
running with the person's token, so the browser's request mostly waits for what is in flight (issue 16: the
pop within a second). Each prefetch serves one request of the same person for the same call, then goes.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from services.console.clients import Apis
from services.console.handlers.call_pop import CallPop, call_pop
from services.console.live import Listener
from shared.events import Event

# a prefetch nobody asked for within this time is dropped (the agent's browser was closed)
KEEP_SECONDS = 60.0
# a token this close to its expiry is not used: the browser's own request refreshes it first
TOKEN_MARGIN = timedelta(seconds=30)


class PopPrefetch:
    """Pops in flight or ready, by (call id, person)."""

    def __init__(self, apis: Apis, size: int = 1_000) -> None:
        self.apis = apis
        self.size = size
        self._pops: OrderedDict[tuple[str, str], tuple[float, asyncio.Task[CallPop]]] = OrderedDict()
        self.started = 0
        self.served = 0

    def start(self, listener: Listener, event: Event[Any]) -> None:
        """Begin fetching the pop of `event`'s call for `listener`'s person (once per call and person)."""
        call_id = event.call_id
        expires = listener.token_expires_at
        if not call_id or not listener.token or expires is None or expires - datetime.now(UTC) < TOKEN_MARGIN:
            return
        key = (call_id, listener.subject)
        if key in self._pops:
            return
        caller = getattr(event.payload, "caller_number", None)
        task = asyncio.get_running_loop().create_task(
            call_pop(self.apis, listener.token, listener.branch, call_id, caller)
        )
        self._pops[key] = (time.monotonic(), task)
        self.started += 1
        self._trim()

    async def take(self, call_id: str, subject: str) -> CallPop | None:
        """The prefetched pop of this call for this person (waiting for it if in flight), else None."""
        entry = self._pops.pop((call_id, subject), None)
        if entry is None or time.monotonic() - entry[0] > KEEP_SECONDS:
            return None
        try:
            pop = await entry[1]
        except Exception:
            return None
        self.served += 1
        return pop

    def _trim(self) -> None:
        now = time.monotonic()
        while self._pops:
            key, (at, task) = next(iter(self._pops.items()))
            if len(self._pops) <= self.size and now - at <= KEEP_SECONDS:
                break
            del self._pops[key]
            task.cancel()
