"""A file another service stores, read with the person's own token (that service checks the scope), passed on."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from services.console.api.deps import Page, console
from services.console.clients import ApiFailure, ServiceName

# what the browser may be told about the file: its type and length as the owning service stored them
PASSED_HEADERS = ("content-type", "content-length")


async def passed_on(page: Page, service: ServiceName, path: str, filename: str) -> Response:
    """Streams the file; the owning service's refusal (403, 404) is the console's error page with its status."""
    try:
        upstream = await console(page.request).apis.stream(service, path, page.token)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in upstream.aiter_bytes():
            yield chunk

    headers = {name: upstream.headers[name] for name in PASSED_HEADERS if name in upstream.headers}
    # always a download, never rendered in the console's origin (a PDF or image from outside)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    headers["Cache-Control"] = "private, no-store"
    return StreamingResponse(body(), headers=headers, background=BackgroundTask(upstream.aclose))
