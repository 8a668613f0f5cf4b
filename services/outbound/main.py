"""`hotline service run outbound [--role api|worker|all]`: customer status notices by SMS."""

from __future__ import annotations

import asyncio

from services.outbound.bootstrap import build
from services.outbound.handlers import SERVICE
from shared.bus import make_producer
from shared.runtime import Role, ServiceSettings, Task, serve, start_logging
from shared.topics import TopicSpec, ensure_topics


async def run(role: Role, settings: ServiceSettings) -> None:
    service = build(settings)
    await service.prepare()
    host = settings.http_host
    if role is Role.API:
        app = service.api_app()
        await serve(SERVICE, app, host, settings.port_for(SERVICE, role), on_stop=service.close)
        return
    await ensure_topics(
        settings.kafka_bootstrap, {service.outbound.topic_tickets: TopicSpec()}, default_partitions=settings.partitions
    )
    producer = make_producer(settings.kafka_bootstrap, f"{SERVICE}-{role.value}")
    await producer.start()
    relay = service.relay(producer)
    consumer = service.consumer(producer, relay, client_id=f"{SERVICE}-{role.value}")
    tasks: list[Task] = [consumer.run, relay.run, service.sender.run, service.webhooks.run]
    app = service.api_app() if role is Role.ALL else service.worker_app(consumer)

    async def stop() -> None:
        await producer.stop()
        await service.close()

    port = settings.port_for(SERVICE, Role.API if role is Role.ALL else Role.WORKER)
    await serve(SERVICE, app, host, port, tasks, on_stop=stop)


def main(role: str = "all") -> None:
    """Run the outbound service in the given role (api, worker or all)."""
    settings = ServiceSettings()
    start_logging(SERVICE, settings, role)
    asyncio.run(run(Role(role), settings))


if __name__ == "__main__":
    main()
