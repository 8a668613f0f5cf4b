"""Server-sent events to the signed-in browser, and the incoming-call pop they announce."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse

from services.console import handlers
from services.console.api.deps import SignedIn, console
from services.console.live import Listener

router = APIRouter()


@router.get("/events")
async def events(page: SignedIn, watch: str = "", board: str = "") -> Response:
    """One stream per open page: pushes for the user's extension, the ticket on the page, notices, the desk."""
    app = console(page.request)
    user = page.user
    listener = Listener(
        subject=user.subject,
        role=user.role,
        branch=user.branch,
        locale=page.language.code,
        extension=user.extension,
        watching=frozenset(t for t in watch.split(",") if t),
        token=user.access_token,
        token_expires_at=user.access_expires_at,
        unit=user.unit,
        division=user.division,
        wallboard=board == "1",  # issue 18: the wallboard page's stream
    )
    request = page.request
    await page.db.close()  # the stream lives long: give the database connection back now

    async def stream() -> AsyncIterator[bytes]:
        app.hub.add(listener)
        app.metrics.streams.inc()
        try:
            yield b"retry: 2000\n: connected\n\n"
            quiet = 0.0
            while not app.stopping.is_set():
                try:
                    push = await asyncio.wait_for(listener.queue.get(), timeout=1.0)
                except TimeoutError:
                    quiet += 1.0
                    if quiet >= app.settings.heartbeat_seconds:
                        quiet = 0.0
                        if await request.is_disconnected():
                            return
                        yield b": keep-alive\n\n"
                    continue
                quiet = 0.0
                yield push.encode()
        finally:
            app.hub.remove(listener)
            app.metrics.streams.dec()

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@router.get("/calls/{call_id}/pop")
async def pop(page: SignedIn, call_id: str) -> Response:
    """htmx: the caller's masked record, open tickets with their clocks, recent tickets of the customer."""
    app = console(page.request)
    call = app.hub.call(call_id)
    number = call.get("caller_number") if call and call.get("branch") == page.user.branch else None
    started = time.perf_counter()
    # fetched since the call reached the console (pop_cache.py), else now
    data = await app.pops.take(call_id, page.user.subject) if number else None
    if data is None:
        data = await handlers.call_pop(app.apis, page.token, page.user.branch, call_id, number)
    fetched = time.perf_counter()
    now = app.clock.now().astimezone(app.zone)
    clocks = {
        t["ticket_id"]: handlers.clock_rows(handlers.TicketPage(t, [], []), now, app.calendar)
        for t in data.open_tickets
    }
    response = page.render("_call_pop.html", data=data, clocks=clocks)
    done = time.perf_counter()
    # where the pop's time goes (bench/console.py --only pop reads it)
    apis_ms, render_ms = (fetched - started) * 1000, (done - fetched) * 1000
    response.headers["Server-Timing"] = f"apis;dur={apis_ms:.1f}, render;dur={render_ms:.1f}"
    return response
