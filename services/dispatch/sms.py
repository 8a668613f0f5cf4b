"""Urgent notices as SMS (RULES.md §1, §8; regulation §15(二)1): the notifier that queues one SMS per duty phone."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.dispatch.notify import NOTICES
from services.dispatch.store import SmsMessage
from shared.clock import Clock
from shared.db import transaction
from shared.events import Event, UrgentNoticeRequested
from shared.policy.categories import Category
from shared.sms import InvalidPhone, enqueue, mobile_number

log = structlog.get_logger(__name__)

PURPOSE = "urgent_notice"
REASONS = {
    "alarm": "燃气报警",
    "complaint_level_1": "一级投诉",
    "sla_escalation": "超时升级",
    "urgent_situation": "紧急情况",
}
CATEGORIES = {
    Category.ALARM: "报警",
    Category.REPAIR: "报修",
    Category.COMPLAINT: "投诉",
}


def urgent_text(notice: Event[UrgentNoticeRequested]) -> str:
    """The SMS a unit's duty phone gets: what, which ticket, where, whom to call (the unit must go now)."""
    payload = notice.payload
    parts = [f"【燃气热线】紧急：{REASONS.get(payload.reason, payload.reason)}"]
    parts.append(f"工单 {payload.message}")
    if payload.address:
        parts.append(f"地址：{payload.address}")
    if payload.contact_phone:
        parts.append(f"联系电话：{payload.contact_phone}")
    parts.append("请立即处置")
    return "，".join(parts)


def notice_key(notice: Event[UrgentNoticeRequested], unit_id: str) -> str:
    return f"urgent:{notice.event_id}:{unit_id}"


class SmsNotifier:
    """Queues each notice's SMS once per unit (the key is the notice's event id and the unit), then wakes the sender.

    A duty phone that cannot take an SMS (a landline, a typo) is queued straight as `failed`, so it
    raises the same alert and shows in the center's list instead of vanishing.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, wake: Callable[[], None] | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._wake = wake

    async def deliver(self, notice: Event[UrgentNoticeRequested], duty_phones: dict[str, str]) -> None:
        NOTICES.labels(notice.payload.reason).inc()
        text = urgent_text(notice)
        now = self._clock.now()
        queued = 0
        async with transaction(self._sessions) as session:
            for unit_id, raw in sorted(duty_phones.items()):
                try:
                    phone, error = mobile_number(raw), None
                except InvalidPhone as problem:
                    phone, error = raw, f"duty phone of unit {unit_id}: {problem}"
                fresh = await enqueue(
                    session,
                    SmsMessage,
                    key=notice_key(notice, unit_id),
                    branch=notice.branch,
                    ticket_id=notice.ticket_id,
                    purpose=PURPOSE,
                    phone=phone,
                    text=text,
                    now=now,
                    failed_because=error,
                    service="dispatch",
                )
                queued += int(fresh and error is None)
        if not duty_phones:
            log.error("urgent_notice_without_duty_phone", ticket_id=notice.ticket_id, reason=notice.payload.reason)
        if queued and self._wake is not None:
            self._wake()
