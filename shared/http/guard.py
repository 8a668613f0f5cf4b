"""Text validated once, at the edge: control characters, and JSON bodies bounded in keys and depth.

Every service gets this from `create_app`, so no route, schema or database sees a NUL byte
(PostgreSQL refuses it mid-transaction: a 500 and a broken connection) and no body can make
a process spend seconds listing fifty thousand unknown keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.errors import ApiError, error_response
from shared.http.middleware import is_json_media

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; lone surrogates
# (JSON can spell them, UTF-8 and PostgreSQL cannot store them).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_MESSAGE = "must not contain control characters"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def has_control_characters(text: str) -> bool:
    """True when a text holds a character no field of this product may hold."""
    return _CONTROL.search(text) is not None


def strip_control_characters(text: str) -> str:
    """The text without them (for consumers that must keep what an older producer let through)."""
    return _CONTROL.sub("", text)


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """What one request body may hold; beyond it the answer is a short 422, found in linear time."""

    max_keys: int = 2_000
    max_depth: int = 32
    max_errors: int = 50


class _TooBig(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


def _path(parts: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in ("body", *parts))


def body_problems(value: Any, limits: JsonLimits) -> list[dict[str, str]]:
    """Field errors of a parsed JSON body: control characters (up to max_errors), size limits."""
    problems: list[dict[str, str]] = []
    keys = 0
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    try:
        while stack:
            item, where = stack.pop()
            if len(where) > limits.max_depth:
                raise _TooBig(_path(where[: limits.max_depth]), f"nested deeper than {limits.max_depth} levels")
            if isinstance(item, str):
                if _CONTROL.search(item) and len(problems) < limits.max_errors:
                    problems.append({"field": _path(where), "message": CONTROL_MESSAGE})
            elif isinstance(item, dict):
                keys += len(item)
                if keys > limits.max_keys:
                    raise _TooBig(_path(where), f"the body holds more than {limits.max_keys} keys")
                for key, child in item.items():
                    if _CONTROL.search(key) and len(problems) < limits.max_errors:
                        problems.append({"field": _path(where), "message": f"a key {CONTROL_MESSAGE}"})
                    stack.append((child, (*where, key)))
            elif isinstance(item, list):
                keys += len(item)
                if keys > limits.max_keys:
                    raise _TooBig(_path(where), f"the body holds more than {limits.max_keys} values")
                stack.extend((child, (*where, i)) for i, child in enumerate(item))
    except _TooBig as too_big:
        return [{"field": too_big.field, "message": too_big.message}]
    problems.sort(key=lambda p: p["field"])
    return problems


class JsonGuardMiddleware:
    """Reads a JSON body once, refuses it with field-level 422s when it breaks the edge rules."""

    def __init__(self, app: ASGIApp, limits: JsonLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _BODY_METHODS
            or not is_json_media(Headers(scope=scope).get("content-type", ""))
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except ApiError as error:  # the body limit, raised by the outer middleware's receive
            await error_response(error.status_code, str(error.detail), code=error.code)(scope, receive, send)
            return
        body = b"".join(chunks)
        problems = self._problems(body)
        if problems:
            response = error_response(422, "request validation failed", fields=problems)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _problems(self, body: bytes) -> list[dict[str, str]]:
        if not body.strip():
            return []
        try:
            parsed = json.loads(body)
        except RecursionError:
            return [{"field": "body", "message": f"nested deeper than {self.limits.max_depth} levels"}]
        except ValueError:
            return []  # FastAPI names the syntax error itself
        return body_problems(parsed, self.limits)


def _request_text(request: Request) -> Iterator[tuple[str, str]]:
    for name, value in request.path_params.items():
        if isinstance(value, str):
            yield f"path.{name}", value
    for name, value in request.query_params.multi_items():
        yield f"query.{name}", name
        yield f"query.{name}", value


async def refuse_control_characters(request: Request) -> None:
    """App-wide dependency: a path segment or query value with a control character is a 422."""
    fields = sorted({field for field, text in _request_text(request) if _CONTROL.search(text)})
    if fields:
        raise ApiError(
            422, "request validation failed", fields=[{"field": f, "message": CONTROL_MESSAGE} for f in fields]
        )
