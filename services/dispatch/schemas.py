"""Request and response bodies of the dispatch API (unit, center, admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.http.types import Flag, Instant
from shared.policy.categories import Category, Subtype
from shared.policy.limits import SlaClock
from shared.privacy import MaskedAddress, MaskedName, MaskedPhone

Code = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
Note = Annotated[str, StringConstraints(max_length=2_000)]
Text = Annotated[str, StringConstraints(max_length=20_000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Versioned(_In):
    """`expected_version`: the version the caller read; a mismatch is a 409 (optimistic concurrency)."""

    expected_version: int | None = Field(default=None, ge=1)


class ContactIn(Versioned):
    method: Literal["phone", "sms", "visit", "other"]
    contacted_at: Instant | None = None  # when it happened; now when omitted
    appointment_at: Instant | None = None
    note: Note = ""


class ReturnIn(Versioned):
    reason: Literal["outside_duties", "wrong_or_missing_information", "customer_unreachable"]
    reason_text: Annotated[str, StringConstraints(min_length=1, max_length=2_000)]


class ExtensionIn(Versioned):
    clock: SlaClock
    requested_deadline: Instant
    reason_text: Annotated[str, StringConstraints(min_length=1, max_length=2_000)]


class AttachmentIn(_In):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    media_type: Annotated[str, StringConstraints(min_length=3, max_length=127)]
    content_base64: str


class ReplyIn(Versioned):
    result: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    opinion: Text = ""
    attachment_ids: list[Code] = Field(default_factory=list, max_length=50)
    # RULES.md §2: a service request the unit refuses (the result says why), fed back within 2 wd
    refused: bool = False


class ReviewIn(Versioned):
    decision: Literal["approve", "reject"]
    reason: Code | None = None  # required to reject: incomplete, inaccurate, missing_evidence...
    reason_text: Note = ""


class DispatchIn(Versioned):
    unit_id: Code
    category: Category | None = None  # a correction of the classification
    subtype: Subtype | None = None
    district: Note | None = None
    community: Note | None = None


class ReasonIn(Versioned):
    reason_text: Annotated[str, StringConstraints(min_length=1, max_length=2_000)]


class ExtensionDecisionIn(Versioned):
    decision: Literal["grant", "deny"]
    new_deadline: Instant | None = None  # grant: the requested deadline when omitted
    reason_text: Note = ""


class FlagIn(_In):
    kind: Literal["supervision", "spot_check"]
    note: Note = ""


class ClockOut(BaseModel):
    clock: SlaClock
    started_at: datetime
    deadline: datetime
    running: bool
    stopped_at: datetime | None
    remaining_seconds: float | None
    overdue: bool
    provisional: bool
    extended: bool


class TicketSummary(BaseModel):
    ticket_id: str
    ticket_number: str | None
    branch: str
    status: str
    version: int
    category: str
    subtype: str | None
    complaint_level: int | None
    unit_id: str | None
    division_id: str | None
    district: str | None
    community: str | None
    received_at: datetime
    dispatched_at: datetime | None
    nearest_deadline: datetime | None
    key_customer: bool
    hazardous: bool
    urgent: bool
    supervision_flagged: bool
    clocks: list[ClockOut]
    allowed_actions: list[str]


class ReplyOut(BaseModel):
    reply_id: str
    unit_id: str
    handler_id: str
    result: str
    opinion: str
    submitted_at: datetime
    status: str
    reviewer_id: str | None
    review_reason: str | None
    review_text: str | None
    attachment_ids: list[str]
    refused: bool = False


class ExtensionOut(BaseModel):
    request_id: str
    ticket_id: str
    unit_id: str
    clock: str
    current_deadline: datetime
    requested_deadline: datetime
    reason_text: str
    status: str
    new_deadline: datetime | None
    decided_by: str | None


class AttachmentOut(BaseModel):
    attachment_id: str
    ticket_id: str
    media_type: str
    size_bytes: int
    filename: str | None
    sha256: str
    reply_id: str | None


class FlagOut(BaseModel):
    flag_id: str
    kind: str
    supervisor_id: str
    org_level: str
    note: str
    at: datetime


class TicketDetail(TicketSummary):
    description: str
    customer_name: MaskedName | None
    customer_phone: MaskedPhone | None
    customer_address: MaskedAddress | None
    channel: str
    handler_id: str | None
    dispatch_count: int
    dispatch_mode: str | None
    rule_id: str | None
    previous_unit_id: str | None
    queue_reason: str | None
    queue_detail: str | None
    return_reason: str | None
    return_text: str | None
    return_count: int
    # RULES.md §2, §7: every return counted against the unit that returned it (unit id -> returns)
    returns_by_unit: dict[str, int] = {}
    close_reason: str | None
    close_text: str | None
    work_round: int
    replies: list[ReplyOut]
    extensions: list[ExtensionOut]
    attachments: list[AttachmentOut]
    flags: list[FlagOut]


class HistoryEntry(BaseModel):
    event_id: str
    type: str
    topic: str
    created_at: datetime


class DivisionIn(_In):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    active: Flag = True


class UnitIn(_In):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    division_id: Code
    duty_phone: Annotated[str, StringConstraints(max_length=64)] | None = None
    active: Flag = True


class RuleIn(_In):
    unit: Code
    categories: list[Category] = Field(default_factory=list)
    subtypes: list[Subtype] = Field(default_factory=list)
    districts: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(default_factory=list)
    communities: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(default_factory=list)
    address_patterns: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list
    )
    position: int | None = Field(default=None, ge=0)


class RoutePreviewIn(_In):
    category: Category
    subtype: Subtype | None = None
    district: str | None = None
    community: str | None = None
    address: str | None = None
    unit_id: str | None = None


class RouteDecisionOut(BaseModel):
    routed: bool
    unit_id: str | None
    division_id: str | None
    rule_id: str | None
    unroutable: str | None
    detail: str
    candidates: list[str]


class UnitOut(BaseModel):
    unit_id: str
    name: str
    division_id: str
    active: bool


class DivisionOut(BaseModel):
    division_id: str
    name: str
    active: bool
    units: list[UnitOut]


class OrgOut(BaseModel):
    branch: str
    center_id: str
    center_name: str
    divisions: list[DivisionOut]
    rules: list[dict[str, object]]
