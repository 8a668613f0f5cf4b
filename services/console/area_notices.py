"""Hot spots and planned interruptions of a caller's area, from the reporting service (issue 16 / 18).

`GET /api/v1/area-notices?branch=B&district=D&community=C` (agents, center supervisors): the notices active
now; the console shows them at the call pop and beside the work order's district. A reporting service that
is away or refuses leaves them out: the pop and the form never wait on it for long or fail because of it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from services.console.clients import ApiFailure, Apis

# the pop must show within a second: the notices may take this long, then the pop shows without them
NOTICE_TIMEOUT_SECONDS = 0.8


@dataclass(frozen=True)
class AreaNotice:
    notice_id: str
    kind: str  # hot_spot | planned_interruption
    district: str
    community: str | None
    category: str | None
    message: str
    starts_at: str
    ends_at: str | None
    count: int | None

    @property
    def urgent(self) -> bool:
        return self.kind == "hot_spot"


def notices_of(answer: Any) -> list[AreaNotice]:
    """The contract's `notices` list, planned interruptions first (as reporting orders them)."""
    rows = answer.get("notices", []) if isinstance(answer, dict) else []
    return [
        AreaNotice(
            notice_id=str(n["notice_id"]),
            kind=str(n["kind"]),
            district=str(n["district"]),
            community=n.get("community"),
            category=n.get("category"),
            message=str(n["message"]),
            starts_at=str(n["starts_at"]),
            ends_at=n.get("ends_at"),
            count=n.get("count"),
        )
        for n in rows
        if isinstance(n, dict) and "notice_id" in n and "message" in n
    ]


async def area_notices(
    apis: Apis, token: str, branch: str, district: str | None, community: str | None = None
) -> list[AreaNotice]:
    """The notices active now for the area (none without a district: reporting asks for one)."""
    place = " ".join((district or "").split())
    if not place:
        return []
    params = {"branch": branch, "district": place, "community": " ".join((community or "").split()) or None}
    try:
        answer = await asyncio.wait_for(
            apis.call("reporting", "GET", "/api/v1/area-notices", token, params=params), NOTICE_TIMEOUT_SECONDS
        )
    except (ApiFailure, TimeoutError):
        return []
    return notices_of(answer)
