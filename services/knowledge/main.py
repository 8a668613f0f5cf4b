"""Entry point of `hotline service run knowledge`: the API, the worker (outbox relay), or both in one process."""

from __future__ import annotations

import asyncio

from services.knowledge.bootstrap import (
    SERVICE,
    build_api,
    build_relay,
    build_service,
    build_worker_health,
    migrate,
)
from shared.bus import make_producer
from shared.runtime import Role, ServiceSettings, start_logging
from shared.service import serve_api, serve_worker
from shared.topics import TopicSpec, ensure_topics


async def run(role: Role, settings: ServiceSettings) -> None:
    service = build_service(settings)
    # migrations use their own event loop (asyncio.run inside Alembic's env): run them in a thread
    await asyncio.to_thread(migrate, service.database_url)
    # jieba builds its prefix dictionary (with the gas terms) on first use, seconds on a busy machine: do it now,
    # before the process reports ready, not inside the first publish or search of an agent on a call
    await asyncio.to_thread(service.search.segmenter.words, "燃气表不走字")
    if role is Role.API:
        await serve_api(service, build_api(service))
        return
    # the relay publishes on one topic: create it (with the deployment's partition count) before sending
    topic = service.knowledge.knowledge_topic
    await ensure_topics(settings.kafka_bootstrap, {topic: TopicSpec()}, default_partitions=settings.partitions)
    producer = make_producer(settings.kafka_bootstrap, f"{SERVICE}-worker")
    await producer.start()
    relay = build_relay(service, producer)
    app = build_api(service, relay=relay) if role is Role.ALL else build_worker_health(service)
    await serve_worker(service, role, app, [relay.run], producer)


def main(role: str = "all") -> None:
    """Run the knowledge service in `role` (api, worker or all), configured from the environment."""
    settings = ServiceSettings()
    start_logging(SERVICE, settings)
    asyncio.run(run(Role(role), settings))


if __name__ == "__main__":
    import sys

    main(sys.argv[1] if len(sys.argv) > 1 else "all")
