"""Request and response models of the outbound API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.events import TOPIC_BY_TYPE
from shared.policy.notices import PLACEHOLDERS
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
