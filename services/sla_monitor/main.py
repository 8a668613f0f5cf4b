"""Entry point of `hotline service run sla_monitor`: the Faust worker with its read API in one process."""

from __future__ import annotations

import asyncio

from services.sla_monitor.bootstrap import bootstrap
from services.sla_monitor.settings import SERVICE
from shared.runtime import Role, ServiceSettings, serve, start_logging
from shared.streams import run_stream_app


async def _run(role: Role) -> None:
    settings = ServiceSettings()
    start_logging(SERVICE, settings, role.value)
    service = await bootstrap(settings)
    app = service.monitor.app

    async def run_worker(stop: asyncio.Event) -> None:
        # its changelogs exist before it subscribes; a crashed agent ends the process (non-zero)
        await run_stream_app(app, settings.kafka_bootstrap, stop)

    # The timers live in this process's Faust tables, so the read API is served beside the worker:
    # role worker on the worker port, api / all on the API port (see the report: no stateless API role).
    port = settings.port_for(SERVICE, Role.WORKER if role is Role.WORKER else Role.API)
    await serve(SERVICE, service.http, settings.http_host, port, [run_worker])


def main(role: str = "all") -> None:
    asyncio.run(_run(Role(role)))


if __name__ == "__main__":
    main()
