"""The event contract: one envelope, every event as a versioned schema, topics, keys and the codec.

Every service speaks to the others only through the events defined here. A message on a topic
is the JSON of an `Event`: the envelope (`event_id`, `type`, `version`, `ticket_id` or
`call_id`, `branch`, `occurred_at`, `producer`, `correlation_id`) around a `payload` whose
schema is picked by `(type, version)` from `REGISTRY`.

Producing::

    event = new_event(
        TicketDispatched(unit_id="U-7", division_id="D-2", category="repair", ...),
        ticket_id="GX-20261128-000123", branch="GX", producer="dispatch",
        correlation_id=str(received.event_id), occurred_at=clock.now(),
    )
    await topic.send(key=message_key(event), value=encode(event))   # topic: event.topic

Consuming::

    try:
        event = decode(message.value)
    except EventDecodeError as exc:
        record = dead_letter_for(message.value, exc, source_topic=..., consumer=..., failed_at=...)
        await deadletter.send(key=record.message_key, value=encode_dead_letter(record))
    else:
        match event.payload:
            case TicketDispatched(unit_id=unit_id): ...

Rules of the contract
---------------------
- `event_id` is the idempotency key: consumers act on an id at most once. Events that must
  exist exactly once whatever the retries (an SLA breach per ticket + clock + kind) take a
  `deterministic_event_id(...)` instead of a random one.
- Versioning: within a version only optional fields (with a default) are ever added; renaming,
  removing, retyping or making a field required is a breaking change and becomes a new class
  registered under the next version (`TicketDispatchedV2`), the old one staying registered as
  long as anything may still emit it. Unknown fields are ignored on decode so that a consumer
  keeps reading a version to which a producer has added an optional field; an unknown type or
  version is never guessed at: `decode` raises and the message goes to the dead-letter topic.
- Every instant is timezone-aware; naive datetimes are rejected. Instants are kept (and sent)
  with the fixed UTC offset they had when the event was built, as ISO-8601 with that offset.
- Keys: ticket events (every topic but `hotline.cti.calls`) carry `ticket_id` and are keyed by
  it, so one ticket's history stays in order on one partition; telephony events know no ticket
  and carry `call_id` instead, keyed by it; knowledge-base events (`hotline.knowledge`) carry
  `article_id` and are keyed by it; reporting events (`hotline.reporting`) carry `report_id` (a hot
  spot's or a bulletin's id) and are keyed by it. `Event.key` gives whichever applies.
- Category, sub-type, clock, complaint level, callback kind and grading / failure reasons are the
  policy engine's enums (`shared.policy`): their values are the keys of RULES.md §1-§5 and are
  the wire format, so changing a value there is a breaking change here.

Personal data (RULES.md §6)
---------------------------
Structured personal data travels only where a consumer needs it; `Payload.personal_fields`
names those fields (dotted paths) and `redacted()` masks them for logs.

=============================  =========================  ===================================
topic                          event                      personal fields
=============================  =========================  ===================================
hotline.tickets                TicketReceived             customer.name, customer.phone,
                                                          customer.address,
                                                          customer.account_number,
                                                          customer.id_card_number
hotline.cti.calls              CallOffered                caller_number
hotline.notifications          UrgentNoticeRequested      address, contact_phone
hotline.knowledge              (none: articles and feedback carry no personal data)
hotline.reporting              HotSpotDetected,           (none: areas, counts and periods only)
                               BulletinPublished
hotline.deadletter             (any, as original bytes)   whatever the original held
=============================  =========================  ===================================

No other event holds structured personal data. Free-text fields (descriptions, results,
comments, the customer's account on reopening) are written by people and may mention some:
treat them as confidential, and never log payloads unredacted.
"""

from __future__ import annotations

from shared.events.base import (
    Attachment,
    CallbackPreference,
    CallPayload,
    Channel,
    ComplaintDetails,
    CustomerDetails,
    KeyKind,
    KnowledgePayload,
    Location,
    NotificationPayload,
    Payload,
    Recipient,
    ReportingPayload,
    SlaPayload,
    TicketPayload,
    Topic,
)
from shared.events.calls import (
    CallAnswered,
    CallEnded,
    CallOffered,
)
from shared.events.codec import (
    DeadLetter,
    dead_letter_for,
    decode,
    decode_dead_letter,
    encode,
    encode_dead_letter,
)
from shared.events.envelope import (
    REGISTRY,
    TOPIC_BY_TYPE,
    Event,
    deterministic_event_id,
    message_key,
    new_event,
    payload_class,
    redacted,
    topic_for,
)
from shared.events.errors import (
    DeadLetterReason,
    EventDecodeError,
    InvalidEvent,
    MalformedEvent,
    UnknownEventType,
    UnsupportedEventVersion,
)
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

__all__ = [
    "REGISTRY",
    "TOPIC_BY_TYPE",
    "ArticleApproved",
    "ArticleDraftEdited",
    "ArticleDrafted",
    "ArticleFeedbackRecorded",
    "ArticlePublished",
    "ArticleRetired",
    "ArticleSentBack",
    "ArticleSubmitted",
    "Attachment",
    "BulletinPublished",
    "CallAnswered",
    "CallEnded",
    "CallOffered",
    "CallPayload",
    "CallbackAbandoned",
    "CallbackAttempted",
    "CallbackCompleted",
    "CallbackPreference",
    "CallbackScheduled",
    "Channel",
    "ComplaintDetails",
    "ComplaintGraded",
    "CustomerContacted",
    "CustomerDetails",
    "CustomerNotified",
    "DeadLetter",
    "DeadLetterReason",
    "Event",
    "EventDecodeError",
    "ExtensionDenied",
    "ExtensionGranted",
    "ExtensionRequested",
    "HotSpotDetected",
    "InvalidEvent",
    "KeyKind",
    "KnowledgePayload",
    "Location",
    "MalformedEvent",
    "ManualDispatchQueued",
    "NotificationPayload",
    "Payload",
    "Recipient",
    "ReplyApproved",
    "ReplyRejected",
    "ReportingPayload",
    "ServiceRated",
    "SlaBreached",
    "SlaDeadlineMoved",
    "SlaEscalated",
    "SlaPayload",
    "SlaWarning",
    "SupervisionFlagged",
    "TicketAccepted",
    "TicketClosed",
    "TicketDispatched",
    "TicketPayload",
    "TicketReceived",
    "TicketReopened",
    "TicketReplied",
    "TicketResolvedOnFirstContact",
    "TicketReturnRefused",
    "TicketReturned",
    "Topic",
    "UnknownEventType",
    "UnsupportedEventVersion",
    "UrgentNoticeRequested",
    "dead_letter_for",
    "decode",
    "decode_dead_letter",
    "deterministic_event_id",
    "encode",
    "encode_dead_letter",
    "message_key",
    "new_event",
    "payload_class",
    "redacted",
    "topic_for",
]
