"""HTTP settings every service shares (HOTLINE_HTTP_*); built at bootstrap, never at import."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HttpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_HTTP_", extra="ignore")

    # work-order bodies are small JSON; photos and receipts go to object storage, not here
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # CORS is closed unless origins are listed (the agent console's address)
    cors_origins: list[str] = Field(default_factory=list)
    openapi: bool = True
