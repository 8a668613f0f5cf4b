"""Entry point of `hotline service run console`: pages, event stream and the live consumer in one process."""

from __future__ import annotations

import asyncio

from services.console.bootstrap import MIGRATIONS, SERVICE, build_app, build_console, build_consumer
from shared.db import upgrade_database
from shared.runtime import ServiceSettings, serve, start_logging


async def run(settings: ServiceSettings) -> None:
    console = build_console(settings)
    # migrations use their own event loop (asyncio.run inside Alembic's env): run them in a thread
    await asyncio.to_thread(upgrade_database, str(console.engine.url.render_as_string(hide_password=False)), MIGRATIONS)
    consumer = build_consumer(console)
    port = console.settings.port if settings.api_port is None else settings.api_port

    async def end_streams(stop: asyncio.Event) -> None:
        await stop.wait()
        console.stopping.set()  # open event streams end, so the server's graceful stop does not wait on them

    tasks = [consumer.run, end_streams]
    await serve(SERVICE, build_app(console), settings.http_host, port, tasks=tasks, on_stop=console.close)


def main(role: str = "all") -> None:
    """Run the console (its one role is `all`: the browsers' streams need the consumer in the same process)."""
    settings = ServiceSettings()
    start_logging(SERVICE, settings)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
