"""Entry point of `hotline service run callback`: the API, the worker, or both in one process."""

from __future__ import annotations

import asyncio

import structlog

from services.callback.bootstrap import (
    MIGRATIONS,
    SERVICE,
    build_api,
    build_consumer,
    build_forwarder,
    build_relay,
    build_service,
    build_worker_health,
)
from shared.bus import make_producer
from shared.db import upgrade_database
from shared.runtime import Role, ServiceSettings, start_logging
from shared.service import serve_api, serve_worker

log = structlog.get_logger(__name__)


async def run(role: Role, settings: ServiceSettings) -> None:
    service = build_service(settings)
    # migrations use their own event loop (asyncio.run inside Alembic's env): run them in a thread
    await asyncio.to_thread(upgrade_database, service.database_url, MIGRATIONS)
    if role is Role.API:
        await serve_api(service, build_api(service))
        return
    producer = make_producer(settings.kafka_bootstrap, f"{SERVICE}-worker")
    await producer.start()
    relay = build_relay(service, producer)
    consumer = build_consumer(service, producer, relay)
    forwarder = build_forwarder(service)
    app = build_api(service, relay=relay) if role is Role.ALL else build_worker_health(service, consumer)
    await serve_worker(service, role, app, [consumer.run, relay.run, forwarder.run], producer)


def main(role: str = "all") -> None:
    """Run the callback service in `role` (api, worker or all), configured from the environment."""
    settings = ServiceSettings()
    start_logging(SERVICE, settings, role)
    asyncio.run(run(Role(role), settings))


if __name__ == "__main__":
    import sys

    main(sys.argv[1] if len(sys.argv) > 1 else "all")
