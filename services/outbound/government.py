"""The 12345 reply loop: a 12345 task's ticket results go back to the government platform through an adapter.

The shipped adapter posts JSON (docs/outbound.md, "12345 reply loop") and records the platform's
acknowledgement; a report the platform does not take is retried with backoff and, after the
last retry, marked failed (alert metric, log, `GET /api/v1/government/reports?state=failed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.outbound.store import GovernmentReport, GovernmentTask
from shared.clock import Clock
from shared.events import (
    Event,
    ExtensionGranted,
    Payload,
    ReplyApproved,
    TicketClosed,
    TicketReceived,
    TicketReplied,
    TicketReturned,
)
from shared.wakeup import Wakeup

log = structlog.get_logger(__name__)

ACKNOWLEDGED = Counter("hotline_government_reports_acknowledged_total", "12345 reports the platform took")
GAVE_UP = Counter("hotline_government_reports_failed_total", "12345 reports given up after retries (an alert)")


class PlatformRefused(Exception):
    """The platform did not take a report; `transient` says whether a retry may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class GovernmentPlatform(Protocol):
    """Hands one report to the government platform and returns its acknowledgement id."""

    async def report(self, body: dict[str, Any]) -> str: ...

    async def close(self) -> None: ...


class HttpGovernmentPlatform:
    """`POST <url>` with the report as JSON and a bearer token; the platform answers 2xx `{"ack_id": "..."}`."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        self._url = url
        self._client = httpx.AsyncClient(timeout=timeout, headers={"Authorization": f"Bearer {token}"})

    async def report(self, body: dict[str, Any]) -> str:
        try:
            response = await self._client.post(self._url, json=body)
        except httpx.HTTPError as error:
            raise PlatformRefused(f"platform unreachable: {type(error).__name__}", transient=True) from None
        if 200 <= response.status_code < 300:
            try:
                ack = response.json().get("ack_id")
            except ValueError:
                ack = None
            if not isinstance(ack, str) or not ack:
                raise PlatformRefused("platform answered without an ack_id", transient=True)
            return ack
        transient = response.status_code >= 500 or response.status_code == 429
        raise PlatformRefused(f"platform answered {response.status_code}: {response.text[:200]}", transient=transient)

    async def close(self) -> None:
        await self._client.aclose()


def _action(payload: Payload) -> tuple[str, dict[str, Any]] | None:
    match payload:
        case TicketReplied():
            return "replied", {"result": payload.result, "opinion": payload.opinion, "refused": payload.refused}
        case ReplyApproved():
            return "approved", {}
        case ExtensionGranted():
            return "extended", {"clock": payload.clock.value, "new_deadline": payload.new_deadline.isoformat()}
        case TicketReturned():
            return "returned", {"reason": payload.reason, "reason_text": payload.reason_text}
        case TicketClosed():
            return "closed", {"reason": payload.reason}
    return None


def reports_on(payload: Payload) -> bool:
    """Whether `stage_reports` may do something with an event of this payload (a 12345 task or a result)."""
    return isinstance(payload, TicketReceived) or _action(payload) is not None


async def stage_reports(session: AsyncSession, events: Sequence[Event[Any]], now: datetime) -> int:
    """Remember 12345 tasks from TicketReceived; queue one report per result event of such a ticket."""
    staged = 0
    for event in events:
        if event.ticket_id is None:
            continue
        if isinstance(event.payload, TicketReceived):
            if event.payload.external_task_id and await session.get(GovernmentTask, event.ticket_id) is None:
                session.add(
                    GovernmentTask(
                        ticket_id=event.ticket_id,
                        branch=event.branch,
                        task_id=event.payload.external_task_id,
                        ticket_number=event.payload.ticket_number or event.ticket_id,
                    )
                )
                await session.flush()
            continue
        found = _action(event.payload)
        if found is None:
            continue
        task = await session.get(GovernmentTask, event.ticket_id)
        if task is None:
            continue
        action, details = found
        body = {
            "task_id": task.task_id,
            "ticket_number": task.ticket_number,
            "action": action,
            "occurred_at": event.occurred_at.isoformat(),
            "event_id": str(event.event_id),
            "details": details,
        }
        session.add(
            GovernmentReport(
                ticket_id=event.ticket_id,
                branch=task.branch,
                event_id=str(event.event_id),
                action=action,
                body=body,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        staged += 1
    return staged


class GovernmentReporter:
    """Sends due reports, one ticket's in order, retrying with backoff; records the platform's acknowledgement."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        platform: GovernmentPlatform | None,
        clock: Clock,
        *,
        retry_delays: Sequence[float],
        poll_interval: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._platform = platform
        self._clock = clock
        self._delays = tuple(retry_delays)
        self._poll = poll_interval
        self._wake = Wakeup()

    def notify(self) -> None:
        self._wake.notify()

    async def _due(self) -> list[int]:
        now = self._clock.now()
        async with self._sessions() as session:
            firsts = (
                select(func.min(GovernmentReport.id).label("id"))
                .where(GovernmentReport.state == "pending")
                .group_by(GovernmentReport.ticket_id)
                .subquery()
            )
            rows = await session.execute(
                select(GovernmentReport.id)
                .join(firsts, firsts.c.id == GovernmentReport.id)
                .where(GovernmentReport.next_attempt_at <= now)
                .order_by(GovernmentReport.id)
                .limit(100)
            )
            return [row.id for row in rows]

    async def _send(self, report_id: int) -> None:
        async with self._sessions() as session, session.begin():
            report = await session.get(GovernmentReport, report_id, with_for_update=True)
            if report is None or report.state != "pending":
                return
            report.attempts += 1
            now = self._clock.now()
            try:
                if self._platform is None:
                    raise PlatformRefused(
                        "no 12345 platform configured (HOTLINE_OUTBOUND_GOVERNMENT_URL)", transient=False
                    )
                report.ack_id = await self._platform.report(dict(report.body))
            except PlatformRefused as refused:
                report.last_error = str(refused)[:300]
                if refused.transient and report.attempts <= len(self._delays):
                    report.next_attempt_at = now + timedelta(seconds=self._delays[report.attempts - 1])
                    return
                report.state = "failed"
                GAVE_UP.inc()
                log.error("government_report_failed", report=report.id, ticket_id=report.ticket_id, error=str(refused))
                return
            report.state = "acknowledged"
            report.acknowledged_at = now
            ACKNOWLEDGED.inc()

    async def send_due(self) -> int:
        due = await self._due()
        await asyncio.gather(*(self._send(report_id) for report_id in due))
        return len(due)

    async def run(self, stop: asyncio.Event) -> None:
        await self._wake.run(stop, self.send_due, poll=self._poll, failure_event="government_reporter_failed")

    async def close(self) -> None:
        if self._platform is not None:
            await self._platform.close()
