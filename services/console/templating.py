"""Template filters (dates in the branch's zone, durations, labels) and the data of each live push."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from jinja2 import Environment

from services.console import work_labels
from services.console.handlers.reporting import percent, wallboard_push
from services.console.i18n import Language
from services.console.live import Listener
from shared.events import Event

if TYPE_CHECKING:
    from services.console.bootstrap import Console

# what the timeline says for each event (msgids of the catalogs)
EVENT_LABELS = {
    "TicketReceived": "Work order received",
    "TicketResolvedOnFirstContact": "Resolved on the call",
    "ComplaintGraded": "Complaint graded",
    "TicketDispatched": "Dispatched to the unit",
    "ManualDispatchQueued": "Waiting for manual dispatch",
    "TicketAccepted": "Accepted by the unit",
    "CustomerContacted": "Unit contacted the customer",
    "TicketReturned": "Returned by the unit",
    "TicketReturnRefused": "Return refused",
    "ExtensionRequested": "Extension requested",
    "ExtensionGranted": "Extension granted",
    "ExtensionDenied": "Extension denied",
    "TicketReplied": "Unit replied",
    "ReplyApproved": "Reply approved",
    "ReplyRejected": "Reply rejected",
    "SupervisionFlagged": "Supervision flag",
    "SlaWarning": "SLA warning",
    "SlaBreached": "Deadline breached",
    "SlaEscalated": "Escalated",
    "SlaDeadlineMoved": "Deadline moved",
    "UrgentNoticeRequested": "Urgent notice sent",
    "CallbackScheduled": "Callback scheduled",
    "CallbackAttempted": "Callback attempted",
    "CallbackCompleted": "Callback completed",
    "CallbackAbandoned": "Callback abandoned",
    "TicketReopened": "Reopened",
    "TicketClosed": "Closed",
    # issue 21: what outbound adds to a ticket's history
    "CustomerNotified": "Customer told by SMS",
    "ServiceRated": "Service rated by the customer",
}
# issue 21: which status SMS the customer was sent (CustomerNotified.kind, shared/policy/notices.py)
NOTICE_KIND_LABELS = {
    "dispatched": "Dispatched to the unit",
    "on_the_way": "Unit on the way",
    "appointment": "Appointment made",
    "resolved": "Reply approved",
    "callback_missed": "Callback missed",
}
CATEGORY_LABELS = {
    "query": "Information query",
    "consultation": "Consultation",
    "alarm": "Gas alarm",
    "repair": "Repair",
    "service_request": "Service request",
    "complaint": "Complaint",
    "report": "Report",
    "opinion": "Opinion",
    "suggestion": "Suggestion",
    "praise": "Praise",
}
SUBTYPE_LABELS = {
    "installation": "Installation",
    "alteration": "Alteration",
    "conversion": "Conversion",
    "safety_inspection": "Safety inspection",
}
CLOCK_LABELS = {
    "dispatch": "Dispatch",
    "contact": "Contact the customer",
    "handle": "Handle the complaint",
    "resolve": "Resolve",
    "callback": "Callback",
}
STATUS_LABELS = {
    "received": "Received",
    "dispatched": "Dispatched",
    "accepted": "Accepted",
    "contacted": "Customer contacted",
    "returned": "Returned",
    "replied": "Replied",
    "reopened": "Reopened",
    "closed": "Closed",
    "resolved_on_call": "Resolved on the call",
    "awaiting_dispatch": "Awaiting dispatch",
    "queued": "Awaiting dispatch",  # dispatch's name of it (issue 17's pages read dispatch)
    "approved": "Reply approved",
    # intake's view names of the states after dispatch (services/intake/view.py)
    "dispatch_queued": "Awaiting dispatch",
    "callback": "Callback due",
    "reply_rejected": "Reply rejected",
    "resolved_on_first_contact": "Resolved on the call",
}
OUTCOME_LABELS = {
    "reached": "Reached",
    "reply_mismatch": "Reply does not match the facts",
    "asked_another_time": "Another time",
    "no_answer": "No answer",
    "busy": "Busy",
    "switched_off": "Switched off",
    "wrong_number": "Wrong number",
}
LEVEL_LABELS = {1: "Level 1 (major)", 2: "Level 2 (general)", 3: "Level 3 (minor)"}


def _label(table: dict[Any, str]) -> Any:
    def label(context: Any, value: Any) -> str:
        message = table.get(value)
        if message is None:
            return str(value or "–")
        gettext = context.get("_") or (lambda s: s)
        return str(gettext(message))

    from jinja2 import pass_context

    return pass_context(label)


def _left(seconds: float | None, lang: Language) -> str:
    if seconds is None:
        return "–"
    text = lang.duration(timedelta(seconds=abs(seconds)))
    return text if seconds >= 0 else lang.gettext("overdue by %(time)s") % {"time": text}


def precaution(text: str, lang: Language) -> str:
    """A bilingual safety line `中文。 English.`: the part in the page's language."""
    head, sep, tail = text.partition("。 ")
    if not sep:
        return text
    return head + "。" if lang.code == "zh_CN" else tail


def iso_utc(value: datetime | str | None) -> str:
    """One sortable spelling of an instant (UTC, ISO 8601) for the page's scripts."""
    if value is None:
        return ""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def install(env: Environment) -> None:
    env.filters["iso"] = iso_utc
    env.filters["category"] = _label(CATEGORY_LABELS)
    env.filters["subtype"] = _label(SUBTYPE_LABELS)
    env.filters["clock"] = _label(CLOCK_LABELS)
    env.filters["status"] = _label(STATUS_LABELS)
    env.filters["event"] = _label(EVENT_LABELS)
    env.filters["outcome"] = _label(OUTCOME_LABELS)
    env.filters["level"] = _label(LEVEL_LABELS)
    env.filters["notice_kind"] = _label(NOTICE_KIND_LABELS)  # issue 21
    env.globals["left"] = _left
    env.globals["precaution"] = precaution
    work_labels.install(env)  # issue 17: the pages after dispatch
    env.filters["pct"] = percent  # issue 18: the figures' rates


def _language(console: Console, listener: Listener) -> Language:
    return Language(listener.locale, console.catalogs.get(listener.locale, console.catalogs["en"]), console.zone)


def timeline_entry(
    console: Console,
    lang: Language,
    event_id: str,
    event_type: str,
    at: datetime | str,
    producer: str,
    details: dict[str, Any] | None = None,
) -> str:
    return console.templates.get_template("_timeline_entry.html").render(
        _=lang.gettext,
        lang=lang,
        h={"event_id": event_id, "type": event_type, "occurred_at": at, "producer": producer, "details": details or {}},
    )


def push_data(console: Console, kind: str, event: Event[Any], listener: Listener) -> dict[str, Any]:
    """What the browser receives for an event: ids to act on, and ready HTML in the listener's language."""
    lang = _language(console, listener)
    base = {"event_id": str(event.event_id), "type": event.type, "occurred_at": event.occurred_at.isoformat()}
    if kind == "call":
        return {**base, "call_id": event.call_id}
    if kind == "ticket":
        notice = getattr(event.payload, "kind", None) if event.type == "CustomerNotified" else None  # issue 21
        details = {"kind": str(notice)} if notice is not None else None
        html = timeline_entry(
            console, lang, str(event.event_id), event.type, event.occurred_at, event.producer, details
        )
        return {**base, "ticket_id": event.ticket_id, "html": html}
    if kind == "notice":
        payload = event.payload
        label = lang.gettext(EVENT_LABELS.get(event.type, event.type))
        clock = getattr(payload, "clock", None)
        text = label if clock is None else f"{label}: {lang.gettext(CLOCK_LABELS.get(str(clock), str(clock)))}"
        reason = getattr(payload, "reason", None)
        urgent = event.type in ("UrgentNoticeRequested", "SlaBreached", "SlaEscalated")
        return {**base, "ticket_id": event.ticket_id, "text": text, "reason": reason, "urgent": urgent}
    if kind == "work":  # issue 17: a list of the listener's work changed
        return {**base, **work_labels.push(event, listener, lang.gettext(EVENT_LABELS.get(event.type, event.type)))}
    if kind == "wallboard":  # issue 18: the wallboard shows the breach at once, then reloads its figures
        label = lang.gettext(EVENT_LABELS.get(event.type, event.type))
        return {**base, "text": label, **wallboard_push(event.type, event.ticket_id, event.payload)}
    return base
