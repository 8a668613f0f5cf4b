"""Encoding, decoding and dead letters."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, cast

import pydantic_core
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
)

from shared.events.base import (
    Identifier,
    Instant,
    LongText,
    Payload,
    ShortText,
)
from shared.events.envelope import (
    Event,
    payload_class,
)
from shared.events.errors import (
    DeadLetterReason,
    EventDecodeError,
    InvalidEvent,
    MalformedEvent,
)

# The wire values of categories, clocks, levels and reasons are the policy engine's enums, so a
# producer passes what the policy computed and a consumer hands it straight back to the policy.

# --------------------------------------------------------------------------- codec


def encode(event: Event[Any]) -> bytes:
    """The event's JSON bytes, as published; instants are ISO-8601 with their UTC offset."""
    return event.model_dump_json().encode()


def decode(data: bytes | bytearray | str) -> Event[Payload]:
    """Parse and validate one message; never guesses an unknown type or version.

    Raises `MalformedEvent`, `UnknownEventType`, `UnsupportedEventVersion` or `InvalidEvent`
    (all `EventDecodeError`).
    """
    try:
        raw = pydantic_core.from_json(data)
    except ValueError as exc:
        raise MalformedEvent(f"not JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise MalformedEvent(f"not a JSON object but {type(raw).__name__}")
    event_type, version = raw.get("type"), raw.get("version")
    head_errors = []
    if not isinstance(event_type, str):
        head_errors.append({"loc": "type", "type": "missing", "msg": "a string is required"})
    # bool is an int in Python, and 1.0 is not a version: both rejected here, not coerced
    if type(version) is not int:
        head_errors.append({"loc": "version", "type": "missing", "msg": "an integer is required"})
    if head_errors or not isinstance(event_type, str) or not isinstance(version, int):
        raise InvalidEvent(event_type if isinstance(event_type, str) else None, None, head_errors)
    cls = payload_class(event_type, version)
    try:
        return cast(Event[Payload], Event[cls].model_validate(raw))  # type: ignore[valid-type]
    except ValidationError as exc:
        raise InvalidEvent(event_type, version, exc) from exc


# --------------------------------------------------------------------------- dead letters


class DeadLetter(BaseModel):
    """A message a consumer could not use, as sent to hotline.deadletter with the original key.

    It holds the original bytes untouched (so it may hold personal data) so that it can be
    replayed once the consumer or the contract is fixed.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    original_b64: str  # base64 of the original message value
    original_key_b64: str | None = None
    source_topic: ShortText
    partition: int | None = None
    offset: int | None = None
    consumer: Identifier  # the consumer group (service) that gave up
    reason: DeadLetterReason
    error: LongText
    errors: tuple[dict[str, Any], ...] = ()  # field errors of an InvalidEvent
    event_type: str | None = None
    event_version: int | None = None
    failed_at: Instant

    @property
    def original(self) -> bytes:
        """The original message value."""
        return base64.b64decode(self.original_b64)

    @property
    def message_key(self) -> bytes | None:
        """Key for the dead-letter topic: the original key, so replays keep per-ticket order."""
        return None if self.original_key_b64 is None else base64.b64decode(self.original_key_b64)


def dead_letter_for(
    original: bytes,
    error: BaseException,
    *,
    source_topic: str,
    consumer: str,
    failed_at: datetime,
    key: bytes | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> DeadLetter:
    """The dead-letter record of a message that failed to decode or to be handled."""
    reason = error.reason if isinstance(error, EventDecodeError) else DeadLetterReason.HANDLER_FAILED
    return DeadLetter(
        original_b64=base64.b64encode(original).decode("ascii"),
        original_key_b64=None if key is None else base64.b64encode(key).decode("ascii"),
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        consumer=consumer,
        reason=reason,
        error=f"{type(error).__name__}: {error}"[:20_000],
        errors=tuple(error.errors) if isinstance(error, InvalidEvent) else (),
        event_type=getattr(error, "event_type", None),
        event_version=getattr(error, "version", None),
        failed_at=failed_at,
    )


def encode_dead_letter(record: DeadLetter) -> bytes:
    """The JSON bytes of a dead-letter record."""
    return record.model_dump_json().encode()


def decode_dead_letter(data: bytes | bytearray | str) -> DeadLetter:
    """Parse a dead-letter record (for replay tools); raises pydantic's ValidationError."""
    return DeadLetter.model_validate_json(data)
