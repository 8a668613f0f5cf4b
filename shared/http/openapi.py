"""Make each OpenAPI document list the error answers its routes give (issue 14 #13).

Every route can answer 422 (the edge check of path and query text); every authenticated route
401 (credentials), 403 (role or scope), 404 (unknown branch, or what the path names) and 429
(rate limits); every route that takes a body 409, 413 and 415. All of them in the one error
body, `ErrorBody`, which also replaces FastAPI's own 422 schema (not what is sent).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_BODY: dict[str, Any] = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}
_DESCRIPTIONS = {
    "400": "the request cannot be used as it is (the message says why)",
    "401": "missing or invalid credentials",
    "403": "the role or scope does not allow it",
    "404": "not found, or the credential's branch is not configured",
    "409": "conflict with the current state",
    "413": "request body too large",
    "415": "request body is not JSON",
    "422": "validation failed; the fields are named",
    "423": "locked for a while",
    "429": "too many requests; see Retry-After",
    "502": "a service this one depends on answered wrongly",
    "503": "not ready, or a service this one depends on does not answer",
}
_WRITES = frozenset({"post", "put", "patch", "delete"})


def _error(code: str) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route for the error answers only it gives (an open route's 401, a 423 ...)."""
    return {code: _error(str(code)) for code in codes}


def error_codes(method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["422"]
    if operation.get("security"):
        codes += ["401", "403", "404", "429"]
    if method in _WRITES:
        codes += ["409", "413", "415"]
    return codes


def document_errors(app: FastAPI) -> None:
    """Wrap `app.openapi` so the generated document carries the error answers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["ErrorBody"] = ERROR_BODY
        for path, methods in schema.get("paths", {}).items():
            for method, operation in methods.items():
                responses = operation.setdefault("responses", {})
                for code in error_codes(method, operation):
                    if code == "422" or code not in responses:
                        responses[code] = _error(code)
                if path == "/health/ready":
                    responses["503"] = {"description": _DESCRIPTIONS["503"]}
                for code, response in responses.items():
                    if code in _DESCRIPTIONS and "content" in response and path != "/health/ready":
                        response["content"] = _error(code)["content"]
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
