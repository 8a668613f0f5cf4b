"""A minimal SMS-sending service for the shared SMS kit's tests: its own table, a sender, the routes on a real port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from hotline.infra.kannel import KannelProcess, free_port
from shared.auth import AuthSettings
from shared.clock import SystemClock
from shared.db import create_schema, make_engine, make_sessions, service_metadata
from shared.http.app import create_app
from shared.http.settings import HttpSettings
from shared.sms import SmsSender, SmsSettings, build_gateways
from shared.sms.api import sms_router
from shared.sms.queue import SmsQueueMixin

JWT_SECRET = "sms-kit-test-secret-0123456789abcdef0123"
DLR_SECRET = "dlr-test-secret"


class KitSmsBase(DeclarativeBase):
    metadata = service_metadata()


class KitSms(SmsQueueMixin, KitSmsBase):
    pass


def kannel_settings(kannel: KannelProcess, dlr_port: int, **overrides: Any) -> SmsSettings:
    values: dict[str, Any] = {
        "kannel_url": kannel.sendsms_url,
        "kannel_username": kannel.username,
        "kannel_password": kannel.password,
        "dlr_url": f"http://127.0.0.1:{dlr_port}/sms/dlr",
        "dlr_secret": DLR_SECRET,
        "poll_interval": 0.2,
        **overrides,
    }
    return SmsSettings(**values)


@dataclass
class SmsKit:
    sessions: async_sessionmaker[AsyncSession]
    sender: SmsSender
    port: int
    app: FastAPI


@asynccontextmanager
async def sms_kit(
    database_url: str, settings: SmsSettings, port: int, *, retry_delays: Sequence[float] = (0.2, 0.2)
) -> AsyncIterator[SmsKit]:
    """The table on a fresh database, a running sender, and the SMS routes served on `port` (the dlr-url's)."""
    engine = make_engine(database_url)
    await create_schema(engine, KitSmsBase.metadata)
    sessions = make_sessions(engine)
    clock = SystemClock()
    sender = SmsSender(
        "kit", sessions, KitSms, build_gateways(settings), clock, retry_delays=retry_delays, poll_interval=0.2
    )
    auth = AuthSettings(jwt_secret=JWT_SECRET)  # type: ignore[arg-type]
    app = create_app(
        "kit",
        HttpSettings(),
        sms_router(
            "kit", KitSms, lambda r: sessions, lambda r: clock, DLR_SECRET, on_requeued=lambda r: sender.notify()
        ),
        auth=auth,
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(server.serve()), asyncio.create_task(sender.run(stop))]
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield SmsKit(sessions, sender, port, app)
    finally:
        stop.set()
        server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await sender.close()
        await engine.dispose()


__all__ = ["KitSms", "SmsKit", "free_port", "kannel_settings", "sms_kit"]
