"""`hotline service run dispatch [--role api|worker|all]`: run the dispatch API, its worker, or both."""

from __future__ import annotations

import asyncio

from services.dispatch.bootstrap import SERVICE, build, ensure_topics, http_task
from shared.bus import make_producer
from shared.events import Topic
from shared.runtime import Role, ServiceSettings, Task, serve, start_logging


async def run(role: Role, settings: ServiceSettings) -> None:
    service = build(settings)
    await service.prepare()
    producer = make_producer(settings.kafka_bootstrap, f"{SERVICE}-{role.value}")
    needs_producer = role is not Role.API or settings.relay_in_api
    if needs_producer:
        await producer.start()
    relay = service.relay(producer) if needs_producer else None
    tasks: list[Task] = []
    if relay is not None:
        tasks.append(relay.run)

    async def stop() -> None:
        if needs_producer:
            await producer.stop()
        await service.close()

    host = settings.http_host
    if role is Role.API:
        await serve(SERVICE, service.api_app(relay), host, settings.port_for(SERVICE, Role.API), tasks, on_stop=stop)
        return
    topics = [service.dispatch.topic_tickets, service.dispatch.topic_notifications, Topic.DEADLETTER.value]
    await ensure_topics(settings.kafka_bootstrap, topics, settings.partitions)
    consumer = service.consumer(producer, relay, client_id=f"{SERVICE}-{role.value}")
    tasks.append(consumer.run)
    if service.sms_sender is not None:  # urgent notices as SMS (HOTLINE_DISPATCH_NOTIFIER=sms)
        tasks.append(service.sms_sender.run)
    worker_app = service.worker_app(consumer)
    worker_port = settings.port_for(SERVICE, Role.WORKER)
    if role is Role.WORKER:
        await serve(SERVICE, worker_app, host, worker_port, tasks, on_stop=stop)
        return
    tasks.append(http_task(worker_app, host, worker_port))
    await serve(SERVICE, service.api_app(relay), host, settings.port_for(SERVICE, Role.API), tasks, on_stop=stop)


def main(role: str = "all") -> None:
    """Run the dispatch service in the given role (api, worker or all)."""
    settings = ServiceSettings()
    start_logging(SERVICE, settings, role)
    asyncio.run(run(Role(role), settings))


if __name__ == "__main__":
    main()
