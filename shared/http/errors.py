"""One error body for every 4xx and 5xx: `{"error": {"code", "message", "fields"}}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import HTTPException
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    Locked,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from shared.privacy import mask_text

_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    423: "locked",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(HTTPException):
    """An HTTPException with a stable machine-readable code and optional field messages."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        fields: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=dict(headers or {}))
        self.code = code or default_code(status_code)
        self.fields = [dict(f) for f in fields]


def default_code(status_code: int) -> str:
    if status_code in _CODES:
        return _CODES[status_code]
    try:
        return HTTPStatus(status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def error_body(code: str, message: str, fields: Sequence[Mapping[str, str]] = ()) -> dict[str, Any]:
    # messages often name what was asked for ("ticket 139… not found"): never echo personal data (§6)
    masked = [{k: mask_text(str(v)) for k, v in f.items()} for f in fields]
    return {"error": {"code": code, "message": mask_text(message), "fields": masked}}


def error_response(
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    fields: Sequence[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code or default_code(status_code), message, fields),
        status_code=status_code,
        headers=dict(headers or {}),
    )


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    status_code = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", None)
    headers = getattr(exc, "headers", None)
    if status_code >= 500:
        # an HTTPException with a 5xx status is still no place for internals
        message = "internal server error" if status_code == 500 else HTTPStatus(status_code).phrase
    elif isinstance(detail, str):
        message = detail
    else:
        message = HTTPStatus(status_code).phrase
    code = getattr(exc, "code", None)
    fields = getattr(exc, "fields", ())
    return error_response(status_code, message, code=code, fields=fields, headers=headers)


# each kind of domain error has one status, here and nowhere else
DOMAIN_STATUS: dict[type[DomainError], int] = {
    BadRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    Invalid: 422,
    Locked: 423,
    TooManyRequests: 429,
    Unavailable: 503,
}


def domain_status(error: DomainError) -> int:
    """The status of the kind the error is (a service's own subclass answers as its base); 400 for a bare one."""
    return next((status for kind, status in DOMAIN_STATUS.items() if isinstance(error, kind)), 400)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    """A handler's refusal as the one error body (create_app installs it on every service's app)."""
    assert isinstance(exc, DomainError)
    status_code = domain_status(exc)
    # RFC 9110: a 401 names the scheme that would be accepted
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return error_response(status_code, exc.message, code=exc.error_code, fields=exc.fields, headers=headers)


def _field_path(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def validation_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Only the location and message go back: pydantic's `input` would echo personal data.
    errors = exc.errors()
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        # FastAPI reports a JSON syntax error as the field `body.<offset>`: say it in words instead
        message = _malformed_json_message(jsonable_encoder(malformed))
        return error_response(400, message, code="malformed_json", fields=[{"field": "body", "message": message}])
    # At most `max_error_fields` of them: the answer must stay small whatever was sent.
    limit = int(getattr(request.app.state, "max_error_fields", 50))
    fields = [
        {"field": _field_path(error.get("loc", ())), "message": str(error.get("msg", ""))}
        for error in jsonable_encoder(list(errors[:limit]))
    ]
    message = "request validation failed"
    if len(errors) > limit:
        message += f"; the first {limit} of {len(errors)} errors are listed"
    return error_response(422, message, fields=fields)


def _malformed_json_message(error: Mapping[str, Any]) -> str:
    loc = error.get("loc", ())
    offset = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    reason = str((error.get("ctx") or {}).get("error", "")).strip()
    where = f" at character {offset + 1}" if offset is not None else ""
    return f"the request body is not valid JSON{where}" + (f": {reason}" if reason else "")
