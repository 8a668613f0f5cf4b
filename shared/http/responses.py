"""JSON responses that mask personal data by default, and the one explicit way around it."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from shared.privacy import mask_data
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
