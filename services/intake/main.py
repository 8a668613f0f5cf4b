"""`hotline service run intake [--role api|worker|all]`: the intake process."""

from __future__ import annotations

import asyncio

from services.intake.bootstrap import build, migrate, run_faust
from services.intake.settings import IntakeSettings
from shared.runtime import Role, ServiceSettings, run_copies, serve, start_logging

SERVICE = "intake"


async def run(role: Role, settings: ServiceSettings) -> None:
    intake = build(settings)
    # migrations run in a thread: Alembic drives its own event loop
    await asyncio.to_thread(migrate, settings.database_url_for(SERVICE))
    tasks = []
    if role in (Role.WORKER, Role.ALL):
        intake.worker_parts()
        await intake.start_producer()
        tasks = [*intake.worker_tasks(), run_faust(await intake.grading_app(), settings.kafka_bootstrap)]
    elif settings.relay_in_api:
        intake.worker_parts()
        await intake.start_producer()
        tasks = intake.worker_tasks()[:1]
    if role is Role.WORKER:
        app = intake.health_app()
    else:
        app = intake.api()
    port = settings.port_for(SERVICE, role)
    await serve(SERVICE, app, settings.http_host, port, tasks, on_stop=intake.close)


def main(role: str = "all") -> None:
    settings = ServiceSettings()
    start_logging(SERVICE, settings, role)
    # the API role may run as several processes on one port (HOTLINE_INTAKE_API_PROCESSES): it is CPU-bound
    copies = IntakeSettings().api_processes if Role(role) is Role.API else 1
    run_copies(copies, lambda: asyncio.run(run(Role(role), ServiceSettings())))


if __name__ == "__main__":
    main()
