"""The contract's shape: every event round-trips, lands on its topic and key, and keeps its data."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from shared import events
from shared.events import (
    REGISTRY,
    TOPIC_BY_TYPE,
    ArticlePublished,
    BulletinPublished,
    CallOffered,
    Event,
    HotSpotDetected,
    InvalidEvent,
    KeyKind,
    Payload,
    SlaBreached,
    TicketAccepted,
    TicketReceived,
    Topic,
    UnknownEventType,
    decode,
    deterministic_event_id,
    encode,
    message_key,
    new_event,
    payload_class,
    redacted,
    topic_for,
)
from tests.unit.events.samples import LEFT_AT_DEFAULT, SAMPLES, T0, sample_event

pytestmark = pytest.mark.unit

ALL = sorted(REGISTRY.values(), key=lambda c: (c.event_type, c.event_version))
ids = [f"{c.event_type}-v{c.event_version}" for c in ALL]

# The design names these; the contract must have every one (DESIGN.md, issues 5-8).
DESIGNED = {
    "TicketReceived",
    "TicketResolvedOnFirstContact",
    "ComplaintGraded",
    "TicketDispatched",
    "TicketAccepted",
    "CustomerContacted",
    "TicketReturned",
    "ExtensionRequested",
    "ExtensionGranted",
    "ExtensionDenied",
    "TicketReplied",
    "ReplyApproved",
    "ReplyRejected",
    "SlaWarning",
    "SlaBreached",
    "SlaEscalated",
    "CallbackScheduled",
    "CallbackAttempted",
    "CallbackCompleted",
    "CallbackAbandoned",
    "TicketReopened",
    "TicketClosed",
    "CallOffered",
    "CallAnswered",
    "CallEnded",
    "UrgentNoticeRequested",
}

EXPECTED_TOPIC = {
    "SlaWarning": Topic.SLA,
    "SlaBreached": Topic.SLA,
    "SlaEscalated": Topic.SLA,
    "SlaDeadlineMoved": Topic.SLA,
    "UrgentNoticeRequested": Topic.NOTIFICATIONS,
    "CallOffered": Topic.CTI_CALLS,
    "CallAnswered": Topic.CTI_CALLS,
    "CallEnded": Topic.CTI_CALLS,
    **{name: Topic.KNOWLEDGE for name in TOPIC_BY_TYPE if name.startswith("Article")},
    "HotSpotDetected": Topic.REPORTING,
    "BulletinPublished": Topic.REPORTING,
}

# Who may carry structured personal data, and which fields (RULES.md §6; module docstring).
EXPECTED_PERSONAL = {
    "TicketReceived": {
        "customer.name",
        "customer.phone",
        "customer.address",
        "customer.account_number",
        "customer.id_card_number",
    },
    "CallOffered": {"caller_number"},
    "UrgentNoticeRequested": {"address", "contact_phone"},
}


def test_every_designed_event_is_registered() -> None:
    assert DESIGNED <= set(TOPIC_BY_TYPE)


def test_topic_names() -> None:
    assert {t.value for t in Topic} == {
        "hotline.tickets",
        "hotline.sla",
        "hotline.notifications",
        "hotline.cti.calls",
        "hotline.deadletter",
        "hotline.knowledge",
        "hotline.reporting",
    }


def test_event_names_are_past_tense() -> None:
    # SlaWarning is the design's own name (DESIGN.md); every other one says what happened
    for name in set(TOPIC_BY_TYPE) - {"SlaWarning"}:
        words = re.findall(r"[A-Z][a-z]*", name)
        assert any(w.endswith(("ed", "Sent")) for w in words), name


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_every_event_has_a_sample(cls: type[Payload]) -> None:
    # a new event without a sample fails here, so none escapes the round-trip tests
    assert cls in SAMPLES, f"add a sample of {cls.__name__} to tests/unit/events/samples.py"
    assert type(SAMPLES[cls]()) is cls


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_samples_fill_every_optional_field(cls: type[Payload]) -> None:
    # a field left at its default would round-trip trivially; fill it so the test means something
    sample = SAMPLES[cls]()
    unset = {
        name
        for name, info in cls.model_fields.items()
        if not info.is_required() and getattr(sample, name) == info.get_default()
    }
    assert unset <= LEFT_AT_DEFAULT.get(cls, frozenset())


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_round_trip(cls: type[Payload]) -> None:
    event = sample_event(cls)
    data = encode(event)
    again = decode(data)
    assert again == event
    assert type(again.payload) is cls
    assert again.payload == event.payload
    assert encode(again) == data


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_topic_and_key(cls: type[Payload]) -> None:
    event = sample_event(cls)
    assert event.topic is EXPECTED_TOPIC.get(cls.event_type, Topic.TICKETS)
    assert topic_for(cls.event_type) is event.topic
    assert topic_for(cls) is event.topic
    assert topic_for(event) is event.topic
    assert topic_for(event.payload) is event.topic
    assert TOPIC_BY_TYPE[cls.event_type] is event.topic
    expected_key = {Topic.CTI_CALLS: "call-1", Topic.KNOWLEDGE: "KB-1", Topic.REPORTING: "HS-1"}.get(cls.topic, "GX-1")
    assert event.key == expected_key
    assert message_key(event) == expected_key.encode()
    assert (cls.keyed_by is KeyKind.CALL) == (cls.topic is Topic.CTI_CALLS)
    assert (cls.keyed_by is KeyKind.ARTICLE) == (cls.topic is Topic.KNOWLEDGE)
    assert (cls.keyed_by is KeyKind.REPORT) == (cls.topic is Topic.REPORTING)


def test_nothing_is_published_to_the_dead_letter_topic_as_an_event() -> None:
    assert Topic.DEADLETTER not in set(TOPIC_BY_TYPE.values())


def test_topic_for_unknown_type() -> None:
    with pytest.raises(UnknownEventType):
        topic_for("TicketTeleported")


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_payload_class_lookup(cls: type[Payload]) -> None:
    assert payload_class(cls.event_type, cls.event_version) is cls


def test_every_registered_class_is_exported() -> None:
    for cls in ALL:
        assert getattr(events, cls.__name__) is cls
        assert cls.__name__ in events.__all__


# --------------------------------------------------------------------------- envelope


def test_wire_format_of_the_envelope() -> None:
    event = new_event(
        TicketAccepted(unit_id="U-7", handler_id="h-1"),
        ticket_id="GX-1",
        branch="GX",
        producer="dispatch",
        correlation_id="req-1",
        occurred_at=datetime(2026, 11, 28, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
        event_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
    )
    assert json.loads(encode(event)) == {
        "event_id": "00000000-0000-4000-8000-000000000001",
        "type": "TicketAccepted",
        "version": 1,
        "ticket_id": "GX-1",
        "call_id": None,
        "article_id": None,
        "report_id": None,
        "branch": "GX",
        "occurred_at": "2026-11-28T09:30:00+08:00",
        "producer": "dispatch",
        "correlation_id": "req-1",
        "payload": {"unit_id": "U-7", "handler_id": "h-1"},
    }


def test_new_event_mints_a_fresh_uuid4() -> None:
    a, b = sample_event(TicketAccepted), sample_event(TicketAccepted)
    assert a.event_id != b.event_id
    assert a.event_id.version == 4


def test_new_event_takes_a_deterministic_id() -> None:
    event_id = deterministic_event_id("SlaBreached", "GX-1", "resolve")
    event = sample_event(SlaBreached, event_id=event_id)
    assert decode(encode(event)).event_id == event_id


def test_deterministic_event_id() -> None:
    a = deterministic_event_id("SlaBreached", "GX-1", "resolve")
    assert a == deterministic_event_id("SlaBreached", "GX-1", "resolve")
    assert a.version == 5
    assert a != deterministic_event_id("SlaBreached", "GX-1", "handle")
    assert a != deterministic_event_id("SlaWarning", "GX-1", "resolve")
    # the parts are kept apart, not concatenated
    assert deterministic_event_id("a", "b c") != deterministic_event_id("a b", "c")
    assert deterministic_event_id("ab", "c") != deterministic_event_id("a", "bc")
    with pytest.raises(ValueError, match="at least one part"):
        deterministic_event_id()


def test_deterministic_event_id_is_stable_across_releases() -> None:
    # pinned: the namespace must never change, or ids already emitted would stop matching
    assert deterministic_event_id("SlaBreached", "GX-1", "resolve") == uuid.UUID("e7eeb8fd-f2aa-5a0c-b781-f55207da24f8")


@pytest.mark.parametrize(
    "tz",
    [UTC, timezone(timedelta(hours=8)), ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")],
)
def test_occurred_at_keeps_its_offset(tz: Any) -> None:
    when = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=tz)
    event = sample_event(TicketAccepted, occurred_at=when)
    again = decode(encode(event))
    assert again.occurred_at == event.occurred_at == when.astimezone(UTC)
    assert again.occurred_at.utcoffset() == when.utcoffset()
    iso = json.loads(encode(event))["occurred_at"]
    assert datetime.fromisoformat(iso).utcoffset() == when.utcoffset()


def test_naive_occurred_at_is_refused_when_building() -> None:
    with pytest.raises(InvalidEvent) as caught:
        sample_event(TicketAccepted, occurred_at=datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose
    assert [e["loc"] for e in caught.value.errors] == ["occurred_at"]


def test_naive_deadline_in_a_payload_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        SlaBreached.model_validate({**SAMPLES[SlaBreached]().model_dump(), "deadline": datetime(2026, 1, 1)})  # noqa: DTZ001


def test_ticket_event_needs_a_ticket_id_and_no_call_id() -> None:
    with pytest.raises(InvalidEvent, match="keyed by ticket"):
        sample_event(TicketAccepted, ticket_id=None)
    with pytest.raises(InvalidEvent, match="keyed by ticket"):
        sample_event(TicketAccepted, call_id="call-1")


def test_call_event_needs_a_call_id_and_no_ticket_id() -> None:
    with pytest.raises(InvalidEvent, match="keyed by call"):
        sample_event(CallOffered, call_id=None)
    with pytest.raises(InvalidEvent, match="keyed by call"):
        sample_event(CallOffered, ticket_id="GX-1")


def test_knowledge_event_needs_an_article_id_only() -> None:
    with pytest.raises(InvalidEvent, match="keyed by article"):
        sample_event(ArticlePublished, article_id=None)
    with pytest.raises(InvalidEvent, match="keyed by article"):
        sample_event(ArticlePublished, ticket_id="GX-1")
    with pytest.raises(InvalidEvent, match="keyed by ticket"):
        sample_event(TicketAccepted, article_id="KB-1")


def test_reporting_event_needs_a_report_id_only() -> None:
    assert sample_event(HotSpotDetected).key == "HS-1"
    assert sample_event(HotSpotDetected).topic == "hotline.reporting"
    with pytest.raises(InvalidEvent, match="keyed by report"):
        sample_event(BulletinPublished, report_id=None)
    with pytest.raises(InvalidEvent, match="keyed by report"):
        sample_event(HotSpotDetected, ticket_id="GX-1")
    with pytest.raises(InvalidEvent, match="keyed by ticket"):
        sample_event(TicketAccepted, report_id="HS-1")


def test_a_division_bulletin_names_its_division() -> None:
    with pytest.raises(ValueError, match="division_id"):
        BulletinPublished.model_validate({**SAMPLES[BulletinPublished]().model_dump(), "division_id": None})


def test_envelope_type_must_match_the_payload() -> None:
    event = sample_event(TicketAccepted)
    with pytest.raises(ValueError, match="do not match"):
        Event[TicketAccepted].model_validate({**event.model_dump(), "type": "TicketReturned"})


def test_a_bare_envelope_cannot_lose_the_payload() -> None:
    # Event without its payload class would validate the payload as the empty base model
    data = encode(sample_event(TicketAccepted))
    with pytest.raises(ValueError, match="not a registered event payload"):
        Event.model_validate_json(data)
    with pytest.raises(InvalidEvent, match="not a registered event payload"):
        new_event(Payload(), ticket_id="GX-1", branch="GX", producer="p", correlation_id="c", occurred_at=T0)


def test_events_are_immutable() -> None:
    event = sample_event(TicketAccepted)
    with pytest.raises(ValueError, match="frozen"):
        setattr(event, "branch", "XX")  # noqa: B010 - mypy does not see pydantic's frozen
    with pytest.raises(ValueError, match="frozen"):
        setattr(event.payload, "unit_id", "U-0")  # noqa: B010


def test_a_field_added_by_a_newer_producer_is_ignored() -> None:
    # the versioning rule adds only optional fields within a version; older readers must cope
    raw = json.loads(encode(sample_event(TicketAccepted)))
    raw["payload"]["shift"] = "night"
    raw["trace"] = "abc"
    event = decode(json.dumps(raw).encode())
    assert event.payload == SAMPLES[TicketAccepted]()


def test_added_fields_within_a_version_are_optional() -> None:
    # the rule of STYLE.md, checked against the frozen v1 required sets: a new required field
    # in a registered version fails here and must become a new version instead
    for cls in ALL:
        required = {n for n, f in cls.model_fields.items() if f.is_required()}
        assert required <= set(SAMPLES[cls]().model_dump(exclude_defaults=True))


# --------------------------------------------------------------------------- business checks


def test_ticket_received_subtype_only_for_service_requests() -> None:
    base = SAMPLES[TicketReceived]().model_dump()
    with pytest.raises(ValueError, match="subtype"):
        TicketReceived.model_validate({**base, "subtype": "installation"})
    with pytest.raises(ValueError, match="subtype"):
        TicketReceived.model_validate({**base, "category": "service_request", "complaint": None})
    ok = TicketReceived.model_validate(
        {**base, "category": "service_request", "subtype": "conversion", "complaint": None}
    )
    assert ok.subtype == "conversion"


def test_complaint_details_required_for_complaints() -> None:
    base = SAMPLES[TicketReceived]().model_dump()
    with pytest.raises(ValueError, match="complaint"):
        TicketReceived.model_validate({**base, "complaint": None})


def test_unknown_category_is_refused() -> None:
    base = SAMPLES[TicketReceived]().model_dump()
    with pytest.raises(ValueError, match="category"):
        TicketReceived.model_validate({**base, "category": "gossip"})


def test_complaint_grade_only_rises() -> None:
    base = SAMPLES[events.ComplaintGraded]().model_dump()
    with pytest.raises(ValueError, match="only goes up"):
        events.ComplaintGraded.model_validate({**base, "level": 3, "previous_level": 2})


def test_extension_must_move_the_deadline_later() -> None:
    base = SAMPLES[events.ExtensionRequested]().model_dump()
    with pytest.raises(ValueError, match="later"):
        events.ExtensionRequested.model_validate({**base, "requested_deadline": base["current_deadline"]})


def test_customer_time_needs_its_time() -> None:
    with pytest.raises(ValueError, match="requested_at"):
        events.CallbackPreference(mode="customer_time")
    with pytest.raises(ValueError, match="requested_at"):
        events.CallbackPreference(mode="declined", requested_at=T0)


def test_wire_values_of_policy_enums() -> None:
    # these strings are the wire format; a change in shared.policy must be a new event version
    payload = json.loads(encode(sample_event(TicketReceived)))["payload"]
    assert payload["category"] == "complaint"
    assert payload["complaint"]["level"] == 1
    breach = json.loads(encode(sample_event(SlaBreached)))["payload"]
    assert (breach["clock"], breach["category"], breach["complaint_level"]) == (
        "handle",
        "complaint",
        3,
    )
    expected_values: dict[str, set[Any]] = {
        "category": {
            "query",
            "consultation",
            "alarm",
            "repair",
            "service_request",
            "complaint",
            "report",
            "opinion",
            "suggestion",
            "praise",
        },
        "subtype": {"installation", "alteration", "conversion", "safety_inspection"},
        "clock": {"dispatch", "contact", "handle", "resolve", "callback"},
    }
    fields = {
        "category": TicketReceived.model_fields["category"].annotation,
        "clock": SlaBreached.model_fields["clock"].annotation,
    }
    for name, enum in fields.items():
        assert {m.value for m in enum} == expected_values[name]  # type: ignore[union-attr]
    subtype = get_args(TicketReceived.model_fields["subtype"].annotation)[0]
    assert {m.value for m in subtype} == expected_values["subtype"]


# --------------------------------------------------------------------------- personal data


def test_personal_data_only_where_documented() -> None:
    declared = {c.event_type: set(c.personal_fields) for c in ALL if c.personal_fields}
    assert declared == EXPECTED_PERSONAL
    for event_type in declared:
        assert event_type in (events.__doc__ or "")


def _field_paths(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        paths[prefix + name] = info.annotation
        for arg in (info.annotation, *get_args(info.annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                paths.update(_field_paths(arg, f"{prefix}{name}."))
    return paths


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_declared_personal_fields_exist(cls: type[Payload]) -> None:
    assert set(cls.personal_fields) <= set(_field_paths(cls))


@pytest.mark.parametrize("cls", ALL, ids=ids)
def test_personal_looking_fields_are_declared(cls: type[Payload]) -> None:
    # a guard for the next author: a name, phone, address or ID field must be declared
    looks_personal = re.compile(r"(^|\.)(name|phone|.*_phone|address|.*_number|id_card.*)$")
    not_personal = {"dialled_number", "customer.customer_id", "ticket_number", "attempt_number"}
    for path in _field_paths(cls):
        if looks_personal.search(path) and path not in not_personal:
            assert path in cls.personal_fields, f"{cls.__name__}.{path} looks personal"


def test_redacted_masks_personal_fields_only() -> None:
    event = sample_event(TicketReceived)
    data = redacted(event)
    customer = data["payload"]["customer"]
    assert customer["name"] == customer["phone"] == customer["address"] == "***"
    assert customer["id_card_number"] == customer["account_number"] == "***"
    assert customer["customer_id"] == "C-42"
    assert data["payload"]["category"] == "complaint"
    assert "13800138000" not in json.dumps(data, ensure_ascii=False)
    call = redacted(sample_event(CallOffered))
    assert call["payload"]["caller_number"] == "***"
    assert call["payload"]["dialled_number"] == "0771-96877"
    # an absent personal field stays absent rather than turning into a mask
    withheld = sample_event(CallOffered).payload.model_copy(update={"caller_number": None})
    event = new_event(withheld, call_id="c", branch="GX", producer="cti", correlation_id="c", occurred_at=T0)
    assert redacted(event)["payload"]["caller_number"] is None


def test_payload_models_are_not_reused_across_types() -> None:
    assert len({c.event_type for c in ALL}) == len(TOPIC_BY_TYPE)
    for cls in ALL:
        assert cls.event_version >= 1
