"""Entry point of `hotline service run identity`: the sign-in API, the housekeeping worker, or both."""

from __future__ import annotations

import asyncio
from functools import partial

from services.identity.bootstrap import (
    SERVICE,
    build,
    build_api,
    build_housekeeper,
    build_worker_health,
    migrate,
    refresh_key_ring,
)
from services.identity.metrics import HousekeepingMetrics
from shared.runtime import Role, ServiceSettings, Task, serve, start_logging


async def run(role: Role, settings: ServiceSettings) -> None:
    service = build(settings)
    # migrations use their own event loop (asyncio.run inside Alembic's env): run them in a thread
    await asyncio.to_thread(migrate, service.database_url)
    host = settings.http_host
    keys_task: Task = partial(refresh_key_ring, service)
    if role is Role.API:
        port = settings.port_for(SERVICE, role)
        await serve(SERVICE, build_api(service), host, port, tasks=[keys_task], on_stop=service.close)
        return
    housekeeper = build_housekeeper(service)
    tasks: list[Task]
    if role is Role.ALL:
        app, tasks = build_api(service), [housekeeper.run, keys_task]
        housekeeper.metrics = HousekeepingMetrics.build(app.state.metrics.registry)
    else:
        app, tasks = build_worker_health(service, housekeeper), [housekeeper.run]
    port = settings.port_for(SERVICE, Role.API if role is Role.ALL else Role.WORKER)
    await serve(SERVICE, app, host, port, tasks=tasks, on_stop=service.close)


def main(role: str = "all") -> None:
    """Run the identity service in `role` (api, worker or all), configured from the environment."""
    settings = ServiceSettings()
    start_logging(SERVICE, settings)
    asyncio.run(run(Role(role), settings))


if __name__ == "__main__":
    import sys

    main(sys.argv[1] if len(sys.argv) > 1 else "all")
