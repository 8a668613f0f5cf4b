"""JSON responses that mask personal data by default, and the one explicit way around it."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from shared.privacy import mask_data, mask_text
from shared.zones import in_branch_zone


class MaskedJSONResponse(JSONResponse):
    """The default response class of every app: personal keys and patterns masked (§6).

    A safety net under the `Masked*` field types: a route that forgets them still shows
    `138****5678`, never the number.
    """

    def render(self, content: Any) -> bytes:
        # instants on the branch's wall clock with its offset (DESIGN.md "Time"), then masked
        return super().render(mask_data(in_branch_zone(content)))


class UnmaskedJSONResponse(JSONResponse):
    """Only for the audited reveal call (shared.auth.reveal): the value goes out in clear."""

    def render(self, content: Any) -> bytes:
        return super().render(in_branch_zone(content))  # instants on the branch's wall clock, as every answer


def _mask_but_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: mask_text(item) if key == "name" and isinstance(item, str) else _mask_but_names_under(key, item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask_but_names(item) for item in value]
    return mask_data(value)


def _mask_but_names_under(key: str, value: Any) -> Any:
    return _mask_but_names(value) if isinstance(value, dict | list | tuple) else mask_data(value, key)


class OrgJSONResponse(JSONResponse):
    """For the org tree: `name` keys are a center's, division's or unit's names, not a person's (RULES.md §6
    protects callers), so they go out as they are; every other key and every pattern is masked as by default."""

    def render(self, content: Any) -> bytes:
        return super().render(_mask_but_names(content))


def download(data: bytes, media_type: str, filename: str) -> Response:
    """A stored file as a download: never rendered in the product's origin, never sniffed, never cached."""
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
