"""Wires the callback service: settings, database, clock, policies, API app, consumer, relay, forwarder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from services.callback.api import routers
from services.callback.handlers import Policies
from services.callback.new_tickets import IntakeForwarder
from services.callback.settings import CallbackSettings
from services.callback.store import Outbox
from services.callback.worker import TicketEventsHandler
from shared.auth import AuthSettings
from shared.bus import ConsumerSettings, EventConsumer
from shared.clock import Clock
from shared.events import Topic
from shared.http.settings import HttpSettings
from shared.outbox import OutboxRelay, RenamingSender
from shared.runtime import ServiceSettings
from shared.service import ServiceCore, consumer_health, core_parts, service_api

SERVICE = "callback"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class CallbackService(ServiceCore):
    """Everything one process of the service shares."""

    NAME = SERVICE
    OUTBOX = Outbox

    callback: CallbackSettings
    policies: Policies


def build_service(
    settings: ServiceSettings | None = None,
    callback: CallbackSettings | None = None,
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
    policies: Policies | None = None,
) -> CallbackService:
    return CallbackService(
        **core_parts(SERVICE, settings, database_url=database_url, clock=clock),
        callback=callback or CallbackSettings(),
        policies=policies or Policies.load(),
    )


def build_api(
    service: CallbackService,
    *,
    auth: AuthSettings | None = None,
    http: HttpSettings | None = None,
    relay: OutboxRelay | None = None,
    intake_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The agents' HTTP API (create_app: every route declares its roles; responses masked)."""
    return service_api(
        service,
        *routers(),
        auth=auth,
        http=http,
        state={
            "policies": service.policies,
            "callback_settings": service.callback,
            "relay": relay,
            # a new request raised on the call goes to intake at once, its refusal back to the agent
            "forwarder": IntakeForwarder(service.sessions, service.callback, service.clock, intake_transport),
        },
    )


def build_relay(service: CallbackService, producer: AIOKafkaProducer) -> OutboxRelay:
    sender = RenamingSender(producer, {Topic.TICKETS.value: service.callback.tickets_topic})
    return OutboxRelay(SERVICE, service.sessions, Outbox, sender, service.clock)


def build_consumer(service: CallbackService, producer: AIOKafkaProducer, relay: OutboxRelay | None) -> EventConsumer:
    settings = ConsumerSettings(
        bootstrap=service.settings.kafka_bootstrap,
        group_id=service.callback.consumer_group,
        topics=[service.callback.tickets_topic],
        client_id=f"{SERVICE}-worker",
    )
    handler = TicketEventsHandler(service.sessions, service.clock, service.policies, relay)
    return EventConsumer(SERVICE, settings, handler, producer, service.clock)


def build_forwarder(service: CallbackService) -> IntakeForwarder:
    return IntakeForwarder(service.sessions, service.callback, service.clock)


def build_worker_health(service: CallbackService, consumer: EventConsumer) -> FastAPI:
    """The worker's own small HTTP server: liveness, readiness (database + partitions assigned), metrics."""
    return consumer_health(service, consumer)
