"""Request and response models of the outbound API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

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
