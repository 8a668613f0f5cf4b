"""Domain errors: what a handler raises when it refuses a command, mapped to an HTTP answer once.

Handlers speak of the domain (not found, not allowed, conflicts with the state, invalid fields); the
HTTP edge (`shared.http.errors.domain_error_handler`, installed by `create_app`) turns each kind into
its status and the one error body `{"error": {code, message, fields}}`. A CLI catches `DomainError`
and prints its message. No fastapi import here: handlers and workers stay free of the web layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar


class DomainError(Exception):
    """A refused command: a stable machine-readable code, a message a person can read, the fields at fault."""

    code: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: Sequence[Mapping[str, str]] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = code or type(self).code
        self.fields = [dict(f) for f in fields]
        self.retry_after = retry_after  # seconds until trying again can succeed (a lockout, a rate limit)

    @classmethod
    def on(cls, field: str, message: str, *, code: str | None = None) -> DomainError:
        """The error naming one field (`body.branch`, `query.phone` ...) with the message as its reason."""
        return cls(message, code=code, fields=[{"field": field, "message": message}])


class BadRequest(DomainError):
    """The request cannot be used as it is (an expired sign-in state ...): 400."""

    code = "bad_request"


class Unauthenticated(DomainError):
    """Missing or wrong credentials: 401 with a `WWW-Authenticate: Bearer` challenge."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """The caller's role or scope does not allow it: 403."""

    code = "forbidden"


class OutOfScope(Forbidden):
    """Outside the caller's branch, division or unit (RULES.md §6): 403 with its own code."""

    code = "out_of_scope"


class NotFound(DomainError):
    """No such thing, or none the caller may see (RULES.md §6: out of scope looks like absent): 404."""

    code = "not_found"


class Conflict(DomainError):
    """The thing's current state does not allow the command: 409."""

    code = "conflict"


class TooLarge(DomainError):
    """A file or body over its limit: 413."""

    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    """A file of a type that is not accepted, or whose content is not what it claims: 415."""

    code = "unsupported_media_type"


class Invalid(DomainError):
    """The input breaks a rule the schema cannot express; `fields` names each field at fault: 422."""

    code = "validation_failed"


class Locked(DomainError):
    """The thing is locked for a while (an account after repeated failed sign-ins): 423, with when to retry."""

    code = "locked"


class TooManyRequests(DomainError):
    """Too many attempts in a window (sign-in, a one-time code): 429, with when to retry."""

    code = "too_many_requests"


class Unavailable(DomainError):
    """Something the command needs is not configured or does not answer: 503."""

    code = "unavailable"
