"""Request and response bodies of the intake API; personal data in responses is typed masked (RULES.md §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.events import Channel
from shared.http.types import Flag, Instant
from shared.policy.categories import Category, Subtype
from shared.policy.photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from shared.privacy import MaskedAccount, MaskedAddress, MaskedIdNumber, MaskedName, MaskedPhone

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^\S+$")]

_STRICT = ConfigDict(extra="forbid")


class CustomerIn(BaseModel):
    """Who called: the agent fills what the caller said; required parts depend on the category."""

    model_config = _STRICT

    customer_id: Code | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)] | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000)] | None = None
    account_number: Code | None = None
    id_card_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=15, max_length=20)] | None = None
    key_customer: Flag = False


class LocationIn(BaseModel):
    model_config = _STRICT

    province: Text | None = None
    city: Text | None = None
    district: Text | None = None
    community: Text | None = None


class ComplaintIn(BaseModel):
    """The complaint's subject (place + type, or an existing subject key) and its grading facts (§4)."""

    model_config = _STRICT

    place: Text | None = None
    complaint_type: Code | None = None
    subject_key: Text | None = None  # link to an existing subject instead of place + type
    complainant_count: int = Field(default=1, ge=1, le=100_000)
    litigation: Flag = False
    media_exposure: Flag = False
    preliminary_level: Literal[1, 2, 3] | None = None


class CallbackIn(BaseModel):
    model_config = _STRICT

    mode: Literal["required", "declined", "customer_time"] = "required"
    requested_at: Instant | None = None


class ResolutionIn(BaseModel):
    """The answer given on the call (first-contact resolution)."""

    model_config = _STRICT

    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    knowledge_article_id: Code | None = None


class PhotoIn(BaseModel):
    """One photo as base64; its kind is read from the content (shared/policy/photos.py), never from a name."""

    model_config = _STRICT

    filename: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] = ""
    content_base64: Annotated[str, StringConstraints(max_length=MAX_PHOTO_BYTES * 4 // 3 + 8)]


class PhotoOut(BaseModel):
    photo_id: str
    filename: str
    media_type: str
    size_bytes: int
    uploaded_at: datetime


class TicketIn(BaseModel):
    """A work order taken on a call (or from another channel)."""

    model_config = _STRICT

    branch: Code | None = None  # defaults to the caller's branch; another branch is refused
    channel: Channel = "phone"
    category: Category
    subtype: Subtype | None = None
    customer: CustomerIn = CustomerIn()
    location: LocationIn = LocationIn()
    description: LongText = ""
    complaint: ComplaintIn | None = None
    hazardous: Flag = False
    urgent: Flag = False
    callback: CallbackIn = CallbackIn()
    call_id: Code | None = None
    unit_id: Code | None = None  # the unit the agent chose (§15(一)3)
    parent_ticket_id: Code | None = None
    received_at: Instant | None = None  # back-filled tickets; default now
    first_contact_resolution: ResolutionIn | None = None
    # a customer's photos (self-service, issue 21): stored with the ticket in its transaction
    photos: list[PhotoIn] = Field(default_factory=list, max_length=MAX_PHOTOS)


class RequestIn(BaseModel):
    """One request raised on a call; several of them form one ticket per unit."""

    model_config = _STRICT

    category: Category
    subtype: Subtype | None = None
    unit_id: Code | None = None
    description: LongText = ""
    complaint: ComplaintIn | None = None
    hazardous: Flag = False
    urgent: Flag = False


class CallRequestsIn(BaseModel):
    """All the requests of one call, with the caller's details given once."""

    model_config = _STRICT

    branch: Code | None = None
    channel: Channel = "phone"
    customer: CustomerIn = CustomerIn()
    location: LocationIn = LocationIn()
    callback: CallbackIn = CallbackIn()
    requests: list[RequestIn] = Field(min_length=1, max_length=20)


class AlarmIn(BaseModel):
    """The gas alarm fast path: where, who, how to call back, what the caller sees (RULES.md §1 alarm)."""

    model_config = _STRICT

    branch: Code | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)]
    # RULES.md §1 alarm: the agent collects the scene (what the caller smells, sees, has done)
    scene: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    unit_id: Code | None = None
    call_id: Code | None = None
    location: LocationIn = LocationIn()
    customer_id: Code | None = None
    account_number: Code | None = None


class GovTaskIn(BaseModel):
    """A government 12345 supervision task, imported with its own id and deadline."""

    model_config = _STRICT

    external_task_id: Code
    deadline: Instant | None = None
    ticket: TicketIn


class TicketCreated(BaseModel):
    ticket_id: str
    ticket_number: str
    branch: str
    category: Category
    status: str
    unit_id: str | None = None
    complaint_level: int | None = None
    call_id: str | None = None
    external_task_id: str | None = None
    external_deadline: datetime | None = None
    external_deadline_kept: bool = False


class RequestPlacement(BaseModel):
    """Where one request of the call went (RULES.md §1, §15(一)3) and how its unit was found."""

    request: int  # its index in the call's requests
    category: Category
    ticket_id: str
    unit_id: str | None  # None: no routing rule decides, the center dispatches it by hand
    unit_from: Literal["agent", "routing_rules", "center"]
    rule_id: str | None = None
    detail: str = ""


class CallTicketsCreated(BaseModel):
    call_id: str
    tickets: list[TicketCreated]
    placements: list[RequestPlacement] = []
    summary: str = ""  # one line the agent can read out: how the call was split, and by what


class AlarmReceived(BaseModel):
    ticket: TicketCreated
    urgent_notice_sent: bool
    precautions: list[str]


class GovTaskImported(BaseModel):
    created: bool
    ticket: TicketCreated


class ClockView(BaseModel):
    clock: str
    started_at: datetime | None
    deadline: datetime | None
    provisional: bool
    stopped_at: datetime | None
    state: str
    warned: bool
    breached: bool


class HistoryEntry(BaseModel):
    event_id: str
    type: str
    occurred_at: datetime
    producer: str
    details: dict[str, Any]


class CustomerView(BaseModel):
    customer_id: str | None = None
    name: MaskedName | None = None
    phone: MaskedPhone | None = None
    address: MaskedAddress | None = None
    account_number: MaskedAccount | None = None
    id_card_number: MaskedIdNumber | None = None


class TicketSummary(BaseModel):
    ticket_id: str
    ticket_number: str
    branch: str
    channel: str
    category: str
    subtype: str | None
    status: str
    received_at: datetime
    closed_at: datetime | None
    unit_id: str | None
    division_id: str | None
    complaint_level: int | None
    breached: bool
    call_id: str | None
    customer_phone: MaskedPhone | None = None


class TicketView(TicketSummary):
    description: str
    customer: CustomerView
    location: dict[str, Any]
    complaint: dict[str, Any] | None
    hazardous: bool
    urgent: bool
    callback_preference: dict[str, Any]
    owner_agent_id: str | None
    parent_ticket_id: str | None
    external_task_id: str | None
    external_deadline: datetime | None
    external_deadline_kept: bool
    resolution: dict[str, Any] | None
    clocks: list[ClockView]
    escalations: list[dict[str, Any]]
    callback: dict[str, Any]
    history: list[HistoryEntry]
    # the caller's own intake actions on it now (shared/policy/ticket_actions.py)
    allowed_actions: list[str] = []


class TicketPage(BaseModel):
    tickets: list[TicketSummary]
    limit: int
    offset: int


class CustomerRecordView(BaseModel):
    customer_id: str
    # §14(一): identity is verified before any account data; the pop shows only the last four
    account_number: MaskedAccount
    name: MaskedName
    address: MaskedAddress
    phones: list[MaskedPhone]
    key_customer: bool


class ScreenPop(BaseModel):
    phone: MaskedPhone | None
    customers: list[CustomerRecordView]
    tickets: list[TicketSummary]
    open_tickets: int


class AccountQueryIn(BaseModel):
    model_config = _STRICT

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    ticket_id: Code | None = None


class AccountView(BaseModel):
    """What a verified caller may hear about their account; only they hear it (§14(一))."""

    customer_id: str
    account_number: str
    name: str
    address: str
    phones: list[str]
    key_customer: bool
    open_tickets: list[TicketSummary]


class CallView(BaseModel):
    call_id: str
    branch: str
    caller_number: MaskedPhone | None
    dialled_number: str | None
    queue: str | None
    agent_id: str | None
    state: str
    offered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    talk_seconds: float | None
    recording_ref: str | None
    tickets: list[TicketSummary]


class CallStats(BaseModel):
    branch: str
    since: datetime | None
    until: datetime | None
    answered: int
    abandoned: int
    ringing: int
    in_progress: int = Field(0, description="answered and not yet ended: calls being talked now")
    average_handle_seconds: float | None
    total_handle_seconds: float
