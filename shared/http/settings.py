"""HTTP settings every service shares (HOTLINE_HTTP_*); built at bootstrap, never at import."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HttpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_HTTP_", extra="ignore")

    # work-order bodies are small JSON; photos and receipts go to object storage, not here
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # no request may starve a process (issue 14 #9): keys and nesting of a JSON body, and how
    # many field errors one answer lists
    max_json_keys: int = Field(default=2_000, ge=10)
    max_json_depth: int = Field(default=32, ge=2, le=200)
    max_error_fields: int = Field(default=50, ge=1, le=1_000)
    # CORS is closed unless origins are listed (the agent console's address)
    cors_origins: list[str] = Field(default_factory=list)
    openapi: bool = True
