"""Request and response models of the reporting API, one family per resource; text is validated here, once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.http.types import Instant


def _no_control_characters(value: str) -> str:
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise ValueError("must not contain control characters")
    return value


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
Place = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(_no_control_characters)
]
Message = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500), AfterValidator(_no_control_characters)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlannedInterruptionCreate(Strict):
    """A planned gas interruption (计划停气) the center registers, shown to agents for calls from that area."""

    branch: Identifier
    district: Place
    community: Place | None = Field(default=None, description="empty: the whole district")
    starts_at: Instant
    ends_at: Instant
    message: Message = Field(description="what the agent reads to the caller")


class PlannedInterruptionPublic(BaseModel):
    notice_id: str
    branch: str
    district: str
    community: str | None
    starts_at: datetime
    ends_at: datetime
    message: str
    created_by: str
    created_at: datetime


class AreaNotice(BaseModel):
    """One notice active now for an area: a planned interruption or a hot spot (the console's fixed contract)."""

    notice_id: str
    kind: Literal["hot_spot", "planned_interruption"]
    district: str
    community: str | None
    category: str | None
    message: str
    starts_at: datetime
    ends_at: datetime | None
    count: int | None


class AreaNotices(BaseModel):
    branch: str = Field(description="the branch asked about: instants are on its wall clock")
    notices: list[AreaNotice]


class FiguresPublic(BaseModel):
    """The figures: one row per period and group (docs/reporting.md names every field)."""

    branch: str
    group_by: str
    period: str
    since: date | None
    until: date | None
    rows: list[dict[str, Any]]


class BulletinCreate(Strict):
    """Publish the bulletin of a finished week (from a Monday) or month (from its first day)."""

    branch: Identifier
    period: Literal["week", "month"]
    period_start: date
    scope: Literal["branch", "division"] = "branch"
    division_id: Identifier | None = None


class BulletinPublic(BaseModel):
    bulletin_id: str
    branch: str
    scope: str
    division_id: str | None
    period: str
    period_start: date
    period_end: date
    title: str
    published_by: str
    published_at: datetime
    tickets: int
    pdf_url: str
    xlsx_url: str


class BulletinList(BaseModel):
    branch: str
    bulletins: list[BulletinPublic]
