"""The registry of every (type, version), the envelope and its constructors."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import pydantic_core
from pydantic import (
    BaseModel,
    Field,
    SerializeAsAny,
    ValidationError,
    model_validator,
)

from shared.events.base import (
    _MODEL_CONFIG,
    Identifier,
    Instant,
    KeyKind,
    Payload,
    Topic,
)
from shared.events.calls import (
    CallAnswered,
    CallEnded,
    CallOffered,
)
from shared.events.errors import InvalidEvent, UnknownEventType, UnsupportedEventVersion
from shared.events.knowledge import (
    ArticleApproved,
    ArticleDrafted,
    ArticleDraftEdited,
    ArticleFeedbackRecorded,
    ArticlePublished,
    ArticleRetired,
    ArticleSentBack,
    ArticleSubmitted,
)
from shared.events.reporting import BulletinPublished, HotSpotDetected
from shared.events.sla import (
    SlaBreached,
    SlaDeadlineMoved,
    SlaEscalated,
    SlaWarning,
    UrgentNoticeRequested,
)
from shared.events.tickets import (
    CallbackAbandoned,
    CallbackAttempted,
    CallbackCompleted,
    CallbackScheduled,
    ComplaintGraded,
    CustomerContacted,
    CustomerNotified,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    ManualDispatchQueued,
    ReplyApproved,
    ReplyRejected,
    ServiceRated,
    SupervisionFlagged,
    TicketAccepted,
    TicketClosed,
    TicketDispatched,
    TicketReceived,
    TicketReopened,
    TicketReplied,
    TicketResolvedOnFirstContact,
    TicketReturned,
    TicketReturnRefused,
)

# The wire values of categories, clocks, levels and reasons are the policy engine's enums, so a
# producer passes what the policy computed and a consumer hands it straight back to the policy.
from shared.zones import zoned

# --------------------------------------------------------------------------- registry

_PAYLOADS: tuple[type[Payload], ...] = (
    TicketReceived,
    TicketResolvedOnFirstContact,
    ComplaintGraded,
    TicketDispatched,
    ManualDispatchQueued,
    TicketAccepted,
    CustomerContacted,
    TicketReturned,
    TicketReturnRefused,
    ExtensionRequested,
    ExtensionGranted,
    ExtensionDenied,
    TicketReplied,
    ReplyApproved,
    ReplyRejected,
    SupervisionFlagged,
    SlaWarning,
    SlaBreached,
    SlaEscalated,
    SlaDeadlineMoved,
    UrgentNoticeRequested,
    CallbackScheduled,
    CallbackAttempted,
    CallbackCompleted,
    CallbackAbandoned,
    TicketReopened,
    TicketClosed,
    CustomerNotified,
    ServiceRated,
    CallOffered,
    CallAnswered,
    CallEnded,
    ArticleDrafted,
    ArticleDraftEdited,
    ArticleSubmitted,
    ArticleApproved,
    ArticleSentBack,
    ArticlePublished,
    ArticleRetired,
    ArticleFeedbackRecorded,
    HotSpotDetected,
    BulletinPublished,
)


def _build_registry(
    payloads: tuple[type[Payload], ...],
) -> tuple[dict[tuple[str, int], type[Payload]], dict[str, Topic]]:
    # checked at import so a contract mistake fails every test and every service at start-up
    registry: dict[tuple[str, int], type[Payload]] = {}
    topics: dict[str, Topic] = {}
    for cls in payloads:
        key = (cls.event_type, cls.event_version)
        if key in registry:
            raise RuntimeError(f"event {key} is registered twice")
        if cls.event_version < 1:
            raise RuntimeError(f"event {key}: versions start at 1")
        if topics.setdefault(cls.event_type, cls.topic) is not cls.topic:
            raise RuntimeError(f"every version of {cls.event_type} must share one topic")
        registry[key] = cls
    return registry, topics


_registry, _topics = _build_registry(_PAYLOADS)
REGISTRY: Mapping[tuple[str, int], type[Payload]] = MappingProxyType(_registry)
"""(type, version) -> payload class: the whole contract."""
TOPIC_BY_TYPE: Mapping[str, Topic] = MappingProxyType(_topics)
"""Event type -> the topic its messages go to."""
_REGISTERED = frozenset(_registry.values())


def payload_class(event_type: str, version: int) -> type[Payload]:
    """The payload class of (type, version), or `UnknownEventType` / `UnsupportedEventVersion`."""
    cls = REGISTRY.get((event_type, version))
    if cls is not None:
        return cls
    if event_type not in TOPIC_BY_TYPE:
        raise UnknownEventType(event_type)
    known = tuple(sorted(v for (t, v) in REGISTRY if t == event_type))
    raise UnsupportedEventVersion(event_type, version, known)


def topic_for(event_type: str | type[Payload] | Payload | Event[Any]) -> Topic:
    """The topic of an event, given its type name, payload class, payload or whole event."""
    if isinstance(event_type, Event):
        return event_type.topic
    if isinstance(event_type, str):
        try:
            return TOPIC_BY_TYPE[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None
    return event_type.topic


# --------------------------------------------------------------------------- envelope

P = TypeVar("P", bound=Payload)


class Event(BaseModel, Generic[P]):
    """The envelope every message carries; build it with `new_event`."""

    model_config = _MODEL_CONFIG

    event_id: uuid.UUID
    type: Identifier
    version: int = Field(ge=1)
    ticket_id: Identifier | None = None
    call_id: Identifier | None = None
    article_id: Identifier | None = None  # knowledge events only (KeyKind.ARTICLE)
    report_id: Identifier | None = None  # reporting events only (KeyKind.REPORT)
    branch: Identifier
    occurred_at: Instant
    producer: Identifier
    correlation_id: Identifier
    payload: SerializeAsAny[P]

    @model_validator(mode="after")
    def _consistent(self) -> Event[P]:
        cls = type(self.payload)
        # a bare `Event.model_validate(...)` would read the payload as the empty base class and
        # drop every field; only registered payload classes make an event (use `decode`)
        if cls not in _REGISTERED:
            raise ValueError(f"{cls.__name__} is not a registered event payload; decode with decode()")
        if (self.type, self.version) != (cls.event_type, cls.event_version):
            raise ValueError(
                f"type/version {self.type}/{self.version} do not match the payload "
                f"{cls.__name__} ({cls.event_type}/{cls.event_version})"
            )
        ids = {
            KeyKind.TICKET: self.ticket_id,
            KeyKind.CALL: self.call_id,
            KeyKind.ARTICLE: self.article_id,
            KeyKind.REPORT: self.report_id,
        }
        if ids[cls.keyed_by] is None or any(v is not None for k, v in ids.items() if k is not cls.keyed_by):
            others = ", ".join(f"no {k.value}_id" for k in ids if k is not cls.keyed_by)
            raise ValueError(f"{self.type} is keyed by {cls.keyed_by.value}: {cls.keyed_by.value}_id only, {others}")
        return self

    @property
    def key(self) -> str:
        """The message key: the ticket id, the call id for telephony, the article id for knowledge, the report id."""
        keyed_by = self.payload.keyed_by
        others = {KeyKind.CALL: self.call_id, KeyKind.ARTICLE: self.article_id, KeyKind.REPORT: self.report_id}
        key = others.get(keyed_by, self.ticket_id)
        if key is None:  # guaranteed by _consistent
            raise ValueError(f"{self.type} has no message key")
        return key

    @property
    def topic(self) -> Topic:
        """The topic this event is published on."""
        return self.payload.topic


def new_event(
    payload: P,
    *,
    branch: str,
    producer: str,
    correlation_id: str,
    occurred_at: datetime,
    ticket_id: str | None = None,
    call_id: str | None = None,
    event_id: uuid.UUID | None = None,
    article_id: str | None = None,
    report_id: str | None = None,
) -> Event[P]:
    """Wrap a payload in its envelope, with a fresh uuid4 unless an `event_id` is given.

    `occurred_at` comes from the caller's clock (never read here); pass
    `event_id=deterministic_event_id(...)` for an event that must exist only once.
    Raises `InvalidEvent` on a bad envelope (naive time, missing or extra key id...).
    """
    cls = type(payload)
    if cls not in _REGISTERED:
        msg = f"{cls.__name__} is not a registered event payload"
        raise InvalidEvent(None, None, [{"loc": "payload", "type": "unregistered", "msg": msg}])
    # what people read of a payload is on their branch's wall clock, with its offset (DESIGN.md "Time");
    # the envelope's occurred_at keeps the producer's own offset
    payload = zoned(payload, branch)
    try:
        return Event[cls](  # type: ignore[valid-type]
            event_id=event_id if event_id is not None else uuid.uuid4(),
            type=cls.event_type,
            version=cls.event_version,
            ticket_id=ticket_id,
            call_id=call_id,
            article_id=article_id,
            report_id=report_id,
            branch=branch,
            occurred_at=occurred_at,
            producer=producer,
            correlation_id=correlation_id,
            payload=payload,
        )
    except ValidationError as exc:
        raise InvalidEvent(cls.event_type, cls.event_version, exc) from exc


# Fixed for ever: changing it would change every deterministic id already emitted.
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c2a4e-9b0d-5e3a-8c71-0d2f4b6a8e13")


def deterministic_event_id(*parts: str | int | uuid.UUID) -> uuid.UUID:
    """A uuid5 of the parts, for events emitted exactly once whatever the retries.

    E.g. `deterministic_event_id("SlaBreached", ticket_id, "resolve")`: a redelivered or
    recomputed breach gets the same id, and consumers drop it as a duplicate.
    """
    if not parts:
        raise ValueError("deterministic_event_id needs at least one part")
    # JSON of the parts' text keeps ("a", "b c") and ("a b", "c") apart
    name = pydantic_core.to_json([str(p) for p in parts]).decode()
    return uuid.uuid5(_EVENT_ID_NAMESPACE, name)


def message_key(event: Event[Any]) -> bytes:
    """The Kafka message key of an event (UTF-8 of `event.key`)."""
    return event.key.encode()


def redacted(event: Event[Any], mask: str = "***") -> dict[str, Any]:
    """The event as a JSON-ready dict with its personal fields masked, for logs."""
    data = event.model_dump(mode="json")
    for path in event.payload.personal_fields:
        *parents, leaf = path.split(".")
        node: Any = data["payload"]
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(leaf) is not None:
            node[leaf] = mask
    return data
