"""The errors of decoding an event: each sends the message to the dead-letter topic."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import ValidationError


class DeadLetterReason(StrEnum):
    """Why a consumer gave a message up."""

    MALFORMED = "malformed"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID = "invalid"
    HANDLER_FAILED = "handler_failed"


class EventDecodeError(ValueError):
    """A message that is not a valid event of the contract; it belongs on the dead-letter topic."""

    reason: ClassVar[DeadLetterReason]


class MalformedEvent(EventDecodeError):
    """The bytes are not a JSON object."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"malformed event: {detail}")
        self.detail = detail


class UnknownEventType(EventDecodeError):
    """The `type` is not in the contract."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type


class UnsupportedEventVersion(EventDecodeError):
    """The type is known but this `version` of it is not."""

    def __init__(self, event_type: str, version: int, known_versions: tuple[int, ...]) -> None:
        known = ", ".join(map(str, known_versions))
        super().__init__(f"unsupported version {version} of event {event_type!r} (known: {known})")
        self.event_type = event_type
        self.version = version
        self.known_versions = known_versions


class InvalidEvent(EventDecodeError):
    """Known type and version, but fields are missing or wrong; `errors` lists them."""

    def __init__(
        self,
        event_type: str | None,
        version: int | None,
        error: ValidationError | list[dict[str, Any]],
    ) -> None:
        if isinstance(error, ValidationError):
            errors = [
                {"loc": ".".join(map(str, e["loc"])), "type": e["type"], "msg": e["msg"]}
                for e in error.errors(include_url=False, include_input=False)
            ]
        else:
            errors = error
        what = f"{event_type} v{version}" if event_type is not None else "event"
        fields = "; ".join(f"{e['loc'] or '(root)'}: {e['msg']}" for e in errors)
        super().__init__(f"invalid {what}: {fields}")
        self.event_type = event_type
        self.version = version
        # [{"loc": "payload.unit_id", "type": "missing", "msg": "Field required"}, ...]
        self.errors: list[dict[str, Any]] = errors


MalformedEvent.reason = DeadLetterReason.MALFORMED
UnknownEventType.reason = DeadLetterReason.UNKNOWN_TYPE
UnsupportedEventVersion.reason = DeadLetterReason.UNSUPPORTED_VERSION
InvalidEvent.reason = DeadLetterReason.INVALID
