"""Configuration of token verification and machine API keys, read from the environment."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiKeyEntry(BaseModel):
    """One machine client: its name (the audit subject), branch and the SHA-256 of its key.

    Only the hash is configured; the key itself is handed to the client once, by
    `hotline auth new-api-key`, and never stored.
    """

    name: str = Field(min_length=1)
    branch: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class AuthSettings(BaseSettings):
    """HOTLINE_JWT_* and HOTLINE_API_KEYS; built at bootstrap, never at import."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    # HS256: the shared secret. RS256: the private key (PEM), only where tokens are issued.
    jwt_secret: SecretStr | None = None
    # RS256 only: the public key (PEM) that services verify with.
    jwt_public_key: str | None = None
    jwt_issuer: str = "gas-hotline"
    jwt_audience: str = "gas-hotline-api"
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    jwt_max_ttl_hours: int = Field(default=24, ge=1)
    # identity's JWKS (https://identity/.well-known/jwks.json): asymmetric tokens only (shared/auth/jwks.py)
    jwks_url: str | None = None
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    # development only: with a JWKS URL, still accept HS256 tokens signed with HOTLINE_JWT_SECRET
    jwt_dev_hs256: bool = False
    api_keys: list[ApiKeyEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _keys_present(self) -> AuthSettings:
        if self.jwks_url is not None and not self.jwt_dev_hs256:
            return self
        if self.jwt_algorithm == "HS256" or self.jwt_dev_hs256:
            if self.jwt_secret is None:
                raise ValueError("HOTLINE_JWT_SECRET is not set")
            if len(self.jwt_secret.get_secret_value()) < 32:
                # RFC 7518 §3.2: an HS256 key shorter than the hash output is weak
                raise ValueError("HOTLINE_JWT_SECRET must be at least 32 characters for HS256")
        elif not self.jwt_public_key:
            raise ValueError("HOTLINE_JWT_PUBLIC_KEY is required for RS256")
        return self

    @property
    def max_ttl(self) -> timedelta:
        return timedelta(hours=self.jwt_max_ttl_hours)
