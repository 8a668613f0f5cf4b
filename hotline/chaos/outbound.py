"""The outbound side effects under fault injection: customer SMS through a real Kannel, and webhook deliveries.

- SMS: every status notice the outbound service queued (a `CustomerNotified` event, one per triggering event:
  its `message_key`) reaches Kannel's fake SMSC once. More copies of a text than notices of it is a duplicate
  SMS; a notice due (its `scheduled_for` past, RULES.md §5's quiet window) that never arrived is a lost one.
- Webhooks: a subscription of the demo branch to ticket events, received here on a loopback port. Each event is
  delivered under one delivery id (a retry of the same delivery is a redelivery, which the receiver drops by
  `X-Hotline-Delivery`, docs/outbound.md); two delivery ids for one event is a duplicate, an event the
  subscription wants that never arrived is lost.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from hotline.infra.cluster import free_port
from hotline.infra.kannel import FakeSms
from shared.events import Event, Payload

WEBHOOK_EVENTS = ("TicketDispatched", "ReplyApproved")


@dataclass
class WebhookReceiver:
    """An HTTP endpoint on a free loopback port answering 200 to every POST and keeping (event id, delivery id)."""

    port: int = field(default_factory=free_port)
    received: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    received.append(
                        (self.headers.get("X-Hotline-Event-Id", ""), self.headers.get("X-Hotline-Delivery", ""))
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="chaos-webhooks", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/hotline"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which a receiver never started lacks
            self._server.shutdown()
        self._server.server_close()


def subscribe(outbound_url: str, secret: str, hook_url: str, branch: str = "demo") -> None:
    """The branch's admin subscribes the receiver to WEBHOOK_EVENTS (raises if refused)."""
    from shared.auth.roles import Role
    from shared.auth.settings import AuthSettings
    from shared.auth.tokens import issue_token

    settings = AuthSettings(jwt_secret=secret)  # type: ignore[arg-type]
    token = issue_token(
        settings, subject="chaos-admin", role=Role.ADMIN, branch=branch, now=datetime.now(UTC), ttl=timedelta(hours=1)
    )
    answer = httpx.post(
        f"{outbound_url}/api/v1/webhooks",
        json={"url": hook_url, "event_types": list(WEBHOOK_EVENTS)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30.0,
    )
    answer.raise_for_status()


@dataclass
class OutboundVerdict:
    notices: int = 0  # status SMS queued (distinct message keys)
    notices_due: int = 0  # of which due by now (past the quiet window)
    sms_received: int = 0
    sms_duplicates: int = 0
    sms_lost: list[str] = field(default_factory=list)  # ticket ids
    sms_examples: list[str] = field(default_factory=list)
    webhooks_due: int = 0
    webhook_deliveries: int = 0
    webhook_redeliveries: int = 0  # the same delivery id again: dropped by the receiver
    webhook_duplicates: int = 0  # one event under two delivery ids
    webhooks_lost: list[str] = field(default_factory=list)  # event ids


def judge_outbound(
    unique: Iterable[Event[Payload]],
    sms: Iterable[FakeSms],
    deliveries: Iterable[tuple[str, str]],
    *,
    now: datetime,
    branch: str = "demo",
) -> OutboundVerdict:
    """The verdict on SMS and webhooks, from the topics' events (each event id once) and what the receivers got."""
    verdict = OutboundVerdict()
    events = list(unique)
    keys: dict[str, set[str]] = defaultdict(set)  # text -> message keys that queued it
    due: dict[str, str] = {}  # text -> ticket id, for the notices due by now
    for event in events:
        if event.type != "CustomerNotified":
            continue
        payload: Any = event.payload
        keys[payload.text].add(payload.message_key)
        if payload.scheduled_for <= now:
            due[payload.text] = str(event.ticket_id)
    verdict.notices = sum(len(k) for k in keys.values())
    verdict.notices_due = len(due)
    arrived = Counter(message.text for message in sms)
    verdict.sms_received = sum(arrived.values())
    for text, copies in arrived.items():
        extra = copies - len(keys.get(text, ()))
        if extra > 0:
            verdict.sms_duplicates += extra
            if len(verdict.sms_examples) < 3:
                verdict.sms_examples.append(f"SMS x{copies} for {len(keys.get(text, ()))} notice(s): {text[:60]}")
    verdict.sms_lost = sorted(ticket for text, ticket in due.items() if text not in arrived)
    wanted = {
        str(e.event_id) for e in events if e.type in WEBHOOK_EVENTS and e.branch == branch and e.ticket_id is not None
    }
    verdict.webhooks_due = len(wanted)
    by_event: dict[str, set[str]] = defaultdict(set)
    seen: Counter[tuple[str, str]] = Counter()
    for event_id, delivery in deliveries:
        by_event[event_id].add(delivery)
        seen[(event_id, delivery)] += 1
    verdict.webhook_deliveries = len(seen)
    verdict.webhook_redeliveries = sum(n - 1 for n in seen.values())
    verdict.webhook_duplicates = sum(len(ids) - 1 for ids in by_event.values())
    verdict.webhooks_lost = sorted(wanted - set(by_event))
    return verdict
