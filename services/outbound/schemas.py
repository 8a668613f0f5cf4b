"""Request and response models of the outbound API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.events import TOPIC_BY_TYPE
from shared.policy.notices import PLACEHOLDERS
from shared.policy.photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from shared.sms import InvalidPhone, mobile_number


class OptOutChange(BaseModel):
    """A customer's own choice, said on a call or by SMS reply: no (more) status SMS, or SMS again."""

    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, StringConstraints(min_length=3, max_length=32)]
    opted_out: bool = True

    @field_validator("phone")
    @classmethod
    def _mobile(cls, value: str) -> str:
        try:
            return mobile_number(value)
        except InvalidPhone as problem:
            raise ValueError(str(problem)) from None


class OptOutPublic(BaseModel):
    phone: str  # masked
    opted_out: bool


class TemplatesPublic(BaseModel):
    """A branch's notice templates as the service uses them."""

    branch: str
    source: str
    hotline: str
    placeholders: dict[str, str] = dict(PLACEHOLDERS)
    templates: dict[str, dict[str, str]]


class WebhookCreate(BaseModel):
    """A subscription of one URL to event types of the admin's branch."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(min_length=8, max_length=2000)]
    event_types: Annotated[list[str], Field(min_length=1, max_length=64)]
    personal_data: bool = False  # the grant to receive names, numbers and addresses unmasked

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(TOPIC_BY_TYPE))
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(unknown)}")
        return sorted(set(value))


class WebhookPublic(BaseModel):
    id: int
    url: str
    event_types: list[str]
    personal_data: bool
    active: bool
    created_at: datetime
    secret: str | None = None  # shown once, when created


class DeliveryPublic(BaseModel):
    id: int
    ticket_id: str
    event_id: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


class GovernmentReportPublic(BaseModel):
    """One 12345 report as the center sees it."""

    id: int
    ticket_id: str
    action: str
    state: str
    attempts: int
    next_attempt_at: datetime
    acknowledged_at: datetime | None
    ack_id: str | None
    last_error: str | None
    body: dict[str, object]


# ---------------------------------------------------------------- self-service (issue 21 part 3)

Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    branch: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]  # checked by the handler


class CodeSentPublic(BaseModel):
    challenge_id: str
    expires_at: datetime
    resend_after_seconds: int
    phone: str  # masked


class CodeTry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}$")]


class CustomerSignedIn(BaseModel):
    session_token: str
    expires_at: datetime
    phone: str  # masked


class OwnTicketSummary(BaseModel):
    ticket_number: str
    category: str
    status: str
    received_at: datetime


class StepPublic(BaseModel):
    step: str
    occurred_at: datetime
    appointment_at: datetime | None = None


class OwnTicketDetail(OwnTicketSummary):
    steps: list[StepPublic]
    rating: int | None
    rating_comment: str | None
    can_rate: bool


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class CustomerPhotoIn(BaseModel):
    """A photo of the request as base64 (at most 5 MB; intake reads its kind from the content)."""

    model_config = ConfigDict(extra="forbid")

    filename: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] = ""
    content_base64: Annotated[str, StringConstraints(max_length=MAX_PHOTO_BYTES * 4 // 3 + 8)]


class CustomerRequestIn(BaseModel):
    """What a customer types on the page; intake checks it as it checks an agent's work order."""

    model_config = ConfigDict(extra="forbid")

    category: Literal["repair", "service_request", "complaint", "suggestion"]
    subtype: Line | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    name: Line | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    district: Line | None = None
    place: Line | None = None  # a complaint's place (community / building)
    complaint_type: Line | None = None
    photos: list[CustomerPhotoIn] = Field(default_factory=list, max_length=MAX_PHOTOS)  # intake checks their kind

    def intake_body(self) -> dict[str, Any]:
        customer = {k: v for k, v in (("name", self.name), ("address", self.address)) if v}
        body: dict[str, Any] = {"category": self.category, "description": self.description, "customer": customer}
        if self.subtype:
            body["subtype"] = self.subtype
        if self.district:
            body["location"] = {"district": self.district}
        if self.category == "complaint":
            body["complaint"] = {k: v for k, v in (("place", self.place), ("complaint_type", self.complaint_type)) if v}
        if self.photos:
            body["photos"] = [p.model_dump() for p in self.photos]
        return body
