"""Urgent phone / SMS notices (RULES.md §1, §8): the notifier interface, the logging default, the plugin hook."""

from __future__ import annotations

import importlib
from typing import Any, Protocol

import structlog
from prometheus_client import Counter

from shared.events import Event, UrgentNoticeRequested

log = structlog.get_logger(__name__)

NOTICES = Counter("hotline_dispatch_urgent_notices_total", "Urgent notices handed to the notifier", ["reason"])


class Notifier(Protocol):
    """Delivers an urgent notice to the people named by its recipients (an SMS gateway, a phone robot...)."""

    async def deliver(self, notice: Event[UrgentNoticeRequested], duty_phones: dict[str, str]) -> None: ...


class LoggingNotifier:
    """The default: writes the notice to the (masked) log, for a duty officer's console or a log alert."""

    async def deliver(self, notice: Event[UrgentNoticeRequested], duty_phones: dict[str, str]) -> None:
        payload = notice.payload
        NOTICES.labels(payload.reason).inc()
        log.warning(
            "urgent_notice",
            ticket_id=notice.ticket_id,
            branch=notice.branch,
            reason=payload.reason,
            channels=list(payload.channels),
            recipients=[f"{r.org_level}:{r.org_id}" for r in payload.recipients],
            duty_phones=sorted(duty_phones.values()),
            category=payload.category.value,
        )


def load_notifier(spec: str | None, **options: Any) -> Notifier:
    """`None` or "logging" gives the logging notifier; "package.module:Class" loads a gateway plugin."""
    if not spec or spec == "logging":
        return LoggingNotifier()
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ValueError(f"notifier {spec!r}: write it as 'package.module:Class'")
    factory = getattr(importlib.import_module(module_name), attribute)
    notifier: Notifier = factory(**options)
    return notifier
