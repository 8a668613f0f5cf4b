"""The durable SMS queue: one row per message key (sent once), a sender loop with retries, alerts, delivery reports.

States: queued -> sending -> sent -> delivered, or -> failed (alerted, listed for the center, retryable
by hand). A sender killed between the gateway's acceptance and its own "sent" leaves a row
"sending"; it is sent again only after `claim_timeout` and only if no delivery report has come for
it meanwhile (Kannel reports the SMSC's acceptance within moments), so a kill -9 sends nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, cast

import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import BigInteger, Index, Integer, String, Text, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.clock import Clock
from shared.db import AwareDateTime
from shared.privacy import mask_phone
from shared.sms.gateways import GatewayError, SmsGateway
from shared.wakeup import Wakeup

log = structlog.get_logger(__name__)

SENT = Counter("hotline_sms_sent_total", "SMS handed to a gateway", ["service", "purpose", "gateway"])
RETRIED = Counter("hotline_sms_retried_total", "SMS sends that failed and will be tried again", ["service"])
FAILED = Counter("hotline_sms_failed_total", "SMS given up after their retries (an alert)", ["service", "purpose"])
FAILED_OPEN = Gauge("hotline_sms_failed_open", "SMS in state failed, waiting for the center", ["service"])
QUEUE_DELAY = Histogram(
    "hotline_sms_queue_seconds",
    "From enqueue to the gateway's acceptance",
    ["service"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)


class SmsState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class SmsQueueMixin:
    """Columns of a service's `sms_messages` table; the service declares `class SmsMessage(SmsQueueMixin, Base)`."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    # what makes a message once: "urgent:<notice event id>:<unit>", "status:<event id>" ...
    message_key: Mapped[str] = mapped_column(String(200), unique=True)
    branch: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    purpose: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(32))  # E.164
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=SmsState.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(AwareDateTime())
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    gateway: Mapped[str | None] = mapped_column(String(16), nullable=True)
    gateway_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    report_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (Index("ix_sms_messages_due", "state", "not_before"),)


# what the alembic migration of a service creates (its columns, from the mixin above)
SMS_TABLE = SmsQueueMixin.__tablename__


class SmsMessage(Protocol):
    id: int
    message_key: str
    branch: str
    ticket_id: str | None
    purpose: str
    phone: str
    text: str
    state: str
    attempts: int
    created_at: datetime


async def enqueue(
    session: AsyncSession,
    model: type[SmsQueueMixin],
    *,
    key: str,
    branch: str,
    phone: str,
    text: str,
    purpose: str,
    now: datetime,
    ticket_id: str | None = None,
    not_before: datetime | None = None,
    failed_because: str | None = None,
    service: str = "sms",
) -> bool:
    """Queue one message in the caller's transaction; False when its key was queued before (sent once).

    `failed_because` records a message that cannot be sent at all (a landline number) as failed at
    once: it raises the alert and waits in the center's list like one that failed its retries.
    """
    values = {
        "message_key": key,
        "branch": branch,
        "ticket_id": ticket_id,
        "purpose": purpose,
        "phone": phone,
        "text": text,
        "state": (SmsState.FAILED if failed_because else SmsState.QUEUED).value,
        "attempts": 0,
        "not_before": not_before or now,
        "created_at": now,
        "last_error": failed_because[:500] if failed_because else None,
    }
    table = cast(Any, model).__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    result = await session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["message_key"]))
    inserted = bool(cast(Any, result).rowcount)
    if inserted and failed_because:
        FAILED.labels(service, purpose).inc()
        log.error("sms_failed", purpose=purpose, ticket_id=ticket_id, phone=mask_phone(phone), error=failed_because)
    return inserted


# Kannel's report types (the dlr-mask bits)
DLR_DELIVERED, DLR_UNDELIVERED, DLR_BUFFERED, DLR_SMSC_ACCEPTED, DLR_SMSC_REJECTED = 1, 2, 4, 8, 16


async def record_delivery_report(
    session: AsyncSession,
    model: type[SmsQueueMixin],
    message_id: int,
    status: int,
    now: datetime,
    *,
    service: str,
    answer: str = "",
) -> str | None:
    """Apply one report to its message (never backwards: delivered stays delivered); returns the new state."""
    row = await session.get(model, message_id, with_for_update=True)
    if row is None:
        return None
    final = row.report_status is not None and row.report_status & (DLR_DELIVERED | DLR_UNDELIVERED | DLR_SMSC_REJECTED)
    if not final or status & (DLR_DELIVERED | DLR_UNDELIVERED | DLR_SMSC_REJECTED):
        # an intermediate report (accepted, buffered) arriving after the final one does not hide it
        row.report_status = status
    if status & DLR_DELIVERED:
        row.state = SmsState.DELIVERED.value
        row.delivered_at = now
        row.sent_at = row.sent_at or now
    elif status & (DLR_UNDELIVERED | DLR_SMSC_REJECTED):
        if row.state != SmsState.DELIVERED.value:
            row.state = SmsState.FAILED.value
            row.last_error = f"delivery report {status}: {answer}"[:500]
            FAILED.labels(service, row.purpose).inc()
            log.error("sms_failed", message_id=row.id, purpose=row.purpose, ticket_id=row.ticket_id, report=status)
    elif status & (DLR_SMSC_ACCEPTED | DLR_BUFFERED) and row.state in (SmsState.QUEUED.value, SmsState.SENDING.value):
        # the gateway has it: a sender killed before marking it sent must not send it again
        row.state = SmsState.SENT.value
        row.sent_at = row.sent_at or now
    return row.state


class GatewayChooser(Protocol):
    def for_branch(self, branch: str) -> tuple[SmsGateway, str]: ...

    async def close(self) -> None: ...


class SmsSender:
    """Sends due messages, the longest due first, retries with backoff, and alerts on what it gives up."""

    def __init__(
        self,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        model: type[SmsQueueMixin],
        gateways: GatewayChooser,
        clock: Clock,
        *,
        retry_delays: Sequence[float] = (5.0, 30.0, 120.0, 600.0, 1800.0),
        claim_timeout: float = 30.0,
        poll_interval: float = 0.5,
        batch_size: int = 50,
    ) -> None:
        self.service = service
        self._sessions = sessions
        self._model = model
        self._gateways = gateways
        self._clock = clock
        self._retry_delays = tuple(retry_delays)
        self._claim_timeout = timedelta(seconds=claim_timeout)
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._wake = Wakeup()

    def notify(self) -> None:
        """A transaction with queued messages just committed: send now instead of at the next poll."""
        self._wake.notify()

    async def _claim(self) -> list[Any]:
        model = cast(Any, self._model)
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            # Two reads, each an index range of `ix_sms_messages_due` (state, not_before) in its own order, so a claim
            # reads the rows it takes and no others. One read ordered by id with an OR walked the primary key past
            # every row of the table not due (the quiet hours' queue, every message sent): ~325 rows per claim at
            # ~20 creates/s, growing with the table (issue 24). Stale claims first (the oldest work), then the due
            # messages, the longest due first.
            stale = (
                select(model)
                .where(model.state == SmsState.SENDING.value, model.claimed_at <= now - self._claim_timeout)
                .order_by(model.claimed_at, model.id)
                .limit(self._batch_size)
            )
            due = (
                select(model)
                .where(model.state == SmsState.QUEUED.value, model.not_before <= now)
                .order_by(model.not_before, model.id)
            )
            locking = session.get_bind().dialect.name == "postgresql"

            async def read(query: Any) -> list[Any]:
                locked = query.with_for_update(skip_locked=True) if locking else query
                return list((await session.execute(locked)).scalars())

            rows = await read(stale)
            if len(rows) < self._batch_size:
                rows += await read(due.limit(self._batch_size - len(rows)))
            for row in rows:
                if row.state == SmsState.SENDING.value:
                    log.warning("sms_resent_after_stale_claim", message_id=row.id, attempts=row.attempts)
                row.state = SmsState.SENDING.value
                row.claimed_at = now
                row.attempts += 1
            claimed = [
                {
                    "id": r.id,
                    "branch": r.branch,
                    "phone": r.phone,
                    "text": r.text,
                    "purpose": r.purpose,
                    "attempts": r.attempts,
                    "created_at": r.created_at,
                    "ticket_id": r.ticket_id,
                }
                for r in rows
            ]
        return claimed

    async def _send_one(self, item: dict[str, Any]) -> None:
        model = cast(Any, self._model)
        values: dict[str, Any]
        try:
            gateway, sender = self._gateways.for_branch(item["branch"])
            name = gateway.name
            submitted = await gateway.send(item["id"], item["phone"], item["text"], sender)
        except (GatewayError, ValueError) as error:
            transient = isinstance(error, GatewayError) and error.transient
            values = self._after_failure(item, str(error), transient)
        else:
            now = self._clock.now()
            values = {
                "state": SmsState.SENT.value,
                "sent_at": now,
                "gateway": name,
                "gateway_ref": submitted.reference,
                "last_error": None,
            }
            SENT.labels(self.service, item["purpose"], name).inc()
            QUEUE_DELAY.labels(self.service).observe(max(0.0, (now - item["created_at"]).total_seconds()))
            log.info("sms_sent", message_id=item["id"], purpose=item["purpose"], ticket_id=item["ticket_id"])
        async with self._sessions() as session, session.begin():
            # only a row still ours: a delivery report may already have moved it on
            await session.execute(
                update(model).where(model.id == item["id"], model.state == SmsState.SENDING.value).values(**values)
            )

    def _after_failure(self, item: dict[str, Any], error: str, transient: bool) -> dict[str, Any]:
        attempts = int(item["attempts"])
        if transient and attempts <= len(self._retry_delays):
            delay = self._retry_delays[attempts - 1]
            RETRIED.labels(self.service).inc()
            log.warning("sms_retry", message_id=item["id"], attempts=attempts, retry_in=delay, error=error)
            return {
                "state": SmsState.QUEUED.value,
                "not_before": self._clock.now() + timedelta(seconds=delay),
                "last_error": error[:500],
            }
        FAILED.labels(self.service, item["purpose"]).inc()
        # the alert: a counter to page on, an error line, and the row listed for the center
        log.error(
            "sms_failed",
            message_id=item["id"],
            purpose=item["purpose"],
            ticket_id=item["ticket_id"],
            phone=mask_phone(item["phone"]),
            attempts=attempts,
            error=error,
        )
        return {"state": SmsState.FAILED.value, "last_error": error[:500]}

    async def send_due(self) -> int:
        """Claim and send one batch; returns how many were tried."""
        claimed = await self._claim()
        if claimed:
            await asyncio.gather(*(self._send_one(item) for item in claimed))
        return len(claimed)

    async def close(self) -> None:
        await self._gateways.close()

    async def failed_open(self) -> int:
        model = cast(Any, self._model)
        async with self._sessions() as session:
            count = int(await session.scalar(select(func.count()).where(model.state == SmsState.FAILED.value)) or 0)
        FAILED_OPEN.labels(self.service).set(count)
        return count

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; a database or gateway outage is logged and waited out, nothing dropped."""
        await self._wake.run(
            stop,
            self.send_due,
            poll=self._poll_interval,
            again_at=self._batch_size,
            max_backoff=10.0,
            failure_event="sms_sender_failed",
            service=self.service,
        )
