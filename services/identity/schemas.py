"""Request and response bodies of the identity API; a person's phone is typed masked (RULES.md §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.privacy import MaskedPhone

_STRICT = ConfigDict(extra="forbid")

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^\S+$")]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
PhoneIn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)]
TotpCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}$")]


# --------------------------------------------------------------------------- sign-in


class LoginIn(BaseModel):
    model_config = _STRICT

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Password
    # the role to act in when the person has several (default: their first)
    role: str | None = None
    totp: TotpCode | None = None


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type
    expires_in: int
    refresh_expires_in: int
    role: str
    roles: list[str]


class RefreshIn(BaseModel):
    model_config = _STRICT

    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=200)]
    # switch the role the new access token acts in (one of the person's roles)
    role: str | None = None


class LogoutIn(BaseModel):
    model_config = _STRICT

    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=200)]


class PasswordChangeIn(BaseModel):
    """Also the way out of "must change at next sign-in": the current password authenticates it."""

    model_config = _STRICT

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    current_password: Password
    new_password: Password
    totp: TotpCode | None = None


class TotpEnrolIn(BaseModel):
    model_config = _STRICT

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Password


class TotpConfirmIn(TotpEnrolIn):
    totp: TotpCode


class TotpEnrolment(BaseModel):
    secret: str
    otpauth_uri: str


class ClientTokenIn(BaseModel):
    """A machine client trades its API key for a short-lived access token (client credentials)."""

    model_config = _STRICT

    api_key: Annotated[str, StringConstraints(min_length=10, max_length=200)]


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type
    expires_in: int
    scopes: list[str]


# --------------------------------------------------------------------------- people


class PersonCreate(BaseModel):
    model_config = _STRICT

    branch: Code
    username: Username
    display_name: DisplayName = ""
    phone: PhoneIn | None = None
    roles: list[str] = Field(min_length=1, max_length=7)
    unit: Code | None = None
    division: Code | None = None
    # None: a single-sign-on person, or an admin sets one with a reset
    password: Password | None = None
    must_change_password: bool = False
    group_admin: bool = False


class PersonUpdate(BaseModel):
    model_config = _STRICT

    display_name: DisplayName | None = None
    phone: PhoneIn | None = None
    roles: list[str] | None = Field(default=None, min_length=1, max_length=7)
    unit: Code | None = None
    division: Code | None = None


class PasswordResetIn(BaseModel):
    model_config = _STRICT

    # the temporary password the admin hands over; the person must change it at next sign-in
    temporary_password: Password


class PersonPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    branch: str
    username: str
    display_name: str
    phone: MaskedPhone | None
    roles: list[str]
    unit: str | None
    division: str | None
    active: bool
    group_admin: bool
    must_change_password: bool
    totp_enabled: bool
    sso: bool
    locked_until: datetime | None


class PeoplePage(BaseModel):
    people: list[PersonPublic]


class ImportIn(BaseModel):
    model_config = _STRICT

    branch: Code | None = None
    csv: Annotated[str, StringConstraints(min_length=1, max_length=900_000)]


class RejectedRowOut(BaseModel):
    line: int
    username: str
    reasons: list[str]


class ImportResult(BaseModel):
    branch: str
    created: int


class Me(BaseModel):
    subject: str
    branch: str
    role: str
    roles: list[str]
    display_name: str
    unit: str | None
    division: str | None


# --------------------------------------------------------------------------- machine keys


class ApiKeyCreate(BaseModel):
    model_config = _STRICT

    branch: Code
    # not `name`: that key is masked as a person's name in every response
    client: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^\S+$")]
    scopes: list[Code] = Field(min_length=1, max_length=20)


class ApiKeyPublic(BaseModel):
    id: str
    branch: str
    client: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    replaced_by: str | None


class ApiKeyIssued(ApiKeyPublic):
    # shown once; only its hash is kept
    key: str


class ApiKeyPage(BaseModel):
    keys: list[ApiKeyPublic]


# --------------------------------------------------------------------------- branch sign-in settings


class BranchSignInIn(BaseModel):
    model_config = _STRICT

    totp_required_roles: list[str] = Field(default_factory=list)
    oidc_issuer: Annotated[str, StringConstraints(max_length=300)] | None = None
    oidc_client_id: Annotated[str, StringConstraints(max_length=200)] | None = None
    oidc_client_secret: Annotated[str, StringConstraints(max_length=300)] | None = None
    oidc_mapping: dict[str, object] = Field(default_factory=dict)


class OidcStart(BaseModel):
    authorization_url: str
    state: str
