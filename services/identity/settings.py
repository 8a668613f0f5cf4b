"""The identity service's own settings (HOTLINE_IDENTITY_*); built in bootstrap, never at import."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.policy.sign_in import LockoutPolicy, PasswordPolicy


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_IDENTITY_", extra="ignore")

    # access tokens live at most 15 minutes (issue 15): a disabled person's access dies within that
    access_ttl_minutes: int = Field(default=10, ge=1, le=15)
    refresh_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Argon2id (RFC 9106 / OWASP 2024 "m=19 MiB, t=2, p=1"): see services/identity/passwords.py
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19 * 1024, ge=8 * 1024)
    argon2_parallelism: int = Field(default=1, ge=1)
    # at most this many hashes at once per process: bounds memory (m x n) and leaves CPU to the rest
    argon2_concurrency: int = Field(default=2, ge=1)
    password_min_length: int = Field(default=12, ge=8, le=64)
    lockout_failures: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    # sign-in attempts per minute, per username and per client address (this process's own limiter)
    rate_per_username: int = Field(default=10, ge=1)
    rate_per_address: int = Field(default=30, ge=1)
    # signing keys: Ed25519; a new key is published this long before it signs (the services' JWKS
    # cache age), and a retired key stays published until its last token has expired
    key_rotation_days: int = Field(default=30, ge=1)
    key_publish_ahead_seconds: int = Field(default=300, ge=0)
    housekeeping_interval_seconds: float = Field(default=60.0, gt=0)
    # where the OIDC provider sends the browser back (the console or identity itself)
    oidc_redirect_base: str = "http://127.0.0.1:8105"
    totp_issuer: str = "Gas hotline"

    @property
    def access_ttl(self) -> timedelta:
        return timedelta(minutes=self.access_ttl_minutes)

    @property
    def refresh_ttl(self) -> timedelta:
        return timedelta(hours=self.refresh_ttl_hours)

    def password_policy(self) -> PasswordPolicy:
        return PasswordPolicy(min_length=self.password_min_length)

    def lockout_policy(self) -> LockoutPolicy:
        return LockoutPolicy(max_failures=self.lockout_failures, lockout=timedelta(minutes=self.lockout_minutes))
