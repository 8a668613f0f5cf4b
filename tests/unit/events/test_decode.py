"""The decoder refuses, with a specific error, everything that is not an event of the contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events import (
    DeadLetter,
    DeadLetterReason,
    EventDecodeError,
    InvalidEvent,
    MalformedEvent,
    TicketAccepted,
    TicketReceived,
    Topic,
    UnknownEventType,
    UnsupportedEventVersion,
    dead_letter_for,
    decode,
    decode_dead_letter,
    encode,
    encode_dead_letter,
)
from tests.unit.events.samples import sample_event

pytestmark = pytest.mark.unit

FAILED_AT = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _wire(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(encode(sample_event(TicketAccepted)))
    raw.update(changes)
    return raw


def _bytes(raw: Any) -> bytes:
    return json.dumps(raw).encode()


def test_unknown_type() -> None:
    with pytest.raises(UnknownEventType) as caught:
        decode(_bytes(_wire(type="TicketTeleported")))
    assert caught.value.event_type == "TicketTeleported"
    assert "TicketTeleported" in str(caught.value)


@pytest.mark.parametrize("version", [0, 2, 99])
def test_unsupported_version(version: int) -> None:
    with pytest.raises(UnsupportedEventVersion) as caught:
        decode(_bytes(_wire(version=version)))
    assert (caught.value.event_type, caught.value.version) == ("TicketAccepted", version)
    assert caught.value.known_versions == (1,)
    assert "known: 1" in str(caught.value)


@pytest.mark.parametrize("version", ["1", 1.0, True, None])
def test_version_must_be_an_integer_never_coerced(version: Any) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode(_bytes(_wire(version=version)))
    assert [e["loc"] for e in caught.value.errors] == ["version"]


def test_missing_type() -> None:
    raw = _wire()
    del raw["type"]
    with pytest.raises(InvalidEvent) as caught:
        decode(_bytes(raw))
    assert [e["loc"] for e in caught.value.errors] == ["type"]


def test_naive_occurred_at() -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode(_bytes(_wire(occurred_at="2026-11-28T09:30:00")))
    assert caught.value.errors == [
        {"loc": "occurred_at", "type": "timezone_aware", "msg": "Input should have timezone info"}
    ]
    assert (caught.value.event_type, caught.value.version) == ("TicketAccepted", 1)


def test_naive_deadline_in_payload() -> None:
    raw: dict[str, Any] = json.loads(encode(sample_event(TicketReceived)))
    raw["payload"]["received_at"] = "2026-11-28T09:30:00"
    with pytest.raises(InvalidEvent) as caught:
        decode(_bytes(raw))
    assert [e["loc"] for e in caught.value.errors] == ["payload.received_at"]


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        (("event_id",), "event_id"),
        (("branch",), "branch"),
        (("producer",), "producer"),
        (("correlation_id",), "correlation_id"),
        (("occurred_at",), "occurred_at"),
        (("payload",), "payload"),
        (("payload", "unit_id"), "payload.unit_id"),
    ],
)
def test_missing_field(path: tuple[str, ...], loc: str) -> None:
    raw = _wire()
    node = raw
    for name in path[:-1]:
        node = node[name]
    del node[path[-1]]
    with pytest.raises(InvalidEvent) as caught:
        decode(_bytes(raw))
    assert loc in [e["loc"] for e in caught.value.errors]
    assert loc in str(caught.value)


def test_missing_ticket_id_of_a_ticket_event() -> None:
    raw = _wire()
    del raw["ticket_id"]
    with pytest.raises(InvalidEvent, match="keyed by ticket"):
        decode(_bytes(raw))


def test_several_field_errors_are_all_reported() -> None:
    raw = _wire(event_id="not-a-uuid", branch="")
    raw["payload"]["handler_id"] = 7
    with pytest.raises(InvalidEvent) as caught:
        decode(_bytes(raw))
    locs = {e["loc"] for e in caught.value.errors}
    assert locs == {"event_id", "branch", "payload.handler_id"}


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b"not json", b"\xff\xfe", b'{"type": "TicketAccepted",}', b"null"],
)
def test_malformed_json(data: bytes) -> None:
    with pytest.raises(MalformedEvent):
        decode(data)


@pytest.mark.parametrize("data", [b"[]", b"42", b'"TicketAccepted"'])
def test_json_that_is_not_an_object(data: bytes) -> None:
    with pytest.raises(MalformedEvent, match="not a JSON object"):
        decode(data)


def test_every_decode_error_is_a_value_error_with_a_dead_letter_reason() -> None:
    for cls, reason in [
        (MalformedEvent, DeadLetterReason.MALFORMED),
        (UnknownEventType, DeadLetterReason.UNKNOWN_TYPE),
        (UnsupportedEventVersion, DeadLetterReason.UNSUPPORTED_VERSION),
        (InvalidEvent, DeadLetterReason.INVALID),
    ]:
        assert issubclass(cls, EventDecodeError)
        assert issubclass(cls, ValueError)
        assert cls.reason is reason


def test_str_input_is_accepted() -> None:
    event = sample_event(TicketAccepted)
    assert decode(encode(event).decode()) == event


# --------------------------------------------------------------------------- dead letters


def _dead_letter_of(data: bytes) -> DeadLetter:
    try:
        decode(data)
    except EventDecodeError as exc:
        return dead_letter_for(
            data,
            exc,
            source_topic=Topic.TICKETS,
            consumer="dispatch",
            failed_at=FAILED_AT,
            key=b"GX-1",
            partition=3,
            offset=1234,
        )
    raise AssertionError("decoded")


def test_dead_letter_of_an_unsupported_version() -> None:
    data = _bytes(_wire(version=2))
    record = _dead_letter_of(data)
    assert record.reason is DeadLetterReason.UNSUPPORTED_VERSION
    assert (record.event_type, record.event_version) == ("TicketAccepted", 2)
    assert record.original == data
    assert record.message_key == b"GX-1"
    assert (record.source_topic, record.partition, record.offset) == ("hotline.tickets", 3, 1234)
    assert "UnsupportedEventVersion" in record.error


def test_dead_letter_of_an_invalid_event_keeps_field_errors() -> None:
    raw = _wire()
    del raw["payload"]["unit_id"]
    record = _dead_letter_of(_bytes(raw))
    assert record.reason is DeadLetterReason.INVALID
    assert [e["loc"] for e in record.errors] == ["payload.unit_id"]


def test_dead_letter_of_bytes_that_are_not_json() -> None:
    record = _dead_letter_of(b"\x00\xff binary")
    assert record.reason is DeadLetterReason.MALFORMED
    assert record.original == b"\x00\xff binary"
    assert record.event_type is None


def test_dead_letter_of_a_failed_handler() -> None:
    data = encode(sample_event(TicketAccepted))
    record = dead_letter_for(
        data,
        RuntimeError("unit U-7 is not in the org tree"),
        source_topic=Topic.TICKETS,
        consumer="dispatch",
        failed_at=FAILED_AT,
    )
    assert record.reason is DeadLetterReason.HANDLER_FAILED
    assert record.error == "RuntimeError: unit U-7 is not in the org tree"
    assert record.message_key is None


def test_dead_letter_round_trip() -> None:
    record = _dead_letter_of(_bytes(_wire(type="Nope")))
    data = encode_dead_letter(record)
    assert decode_dead_letter(data) == record
    wire = json.loads(data)
    assert wire["reason"] == "unknown_type"
    assert wire["failed_at"] == "2026-11-28T03:00:00Z"


def test_dead_letter_needs_an_aware_failure_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        dead_letter_for(
            b"x",
            MalformedEvent("x"),
            source_topic=Topic.TICKETS,
            consumer="dispatch",
            failed_at=datetime(2026, 1, 1),  # noqa: DTZ001 - naive on purpose
        )
