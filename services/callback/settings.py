"""The callback service's own settings (HOTLINE_CALLBACK_*); built in bootstrap, never at import."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import Topic


class CallbackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_CALLBACK_", extra="ignore")

    # a new request raised during a callback becomes a ticket through the intake service's API
    intake_url: str = "http://127.0.0.1:8101"
    intake_tickets_path: str = "/api/v1/tickets"
    # the `integration` API key this service presents to intake (from `hotline auth new-api-key`)
    intake_api_key: SecretStr | None = None
    # identity's URL: the key is then traded there for an access token (shared/auth/client_credentials.py)
    identity_url: str | None = None
    intake_timeout_seconds: float = Field(default=5.0, gt=0)
    forward_interval_seconds: float = Field(default=1.0, gt=0)
    forward_max_backoff_seconds: float = Field(default=300.0, gt=0)
    # how long a claimed callback stays with its agent before it goes back to the queue
    claim_minutes: int = Field(default=15, ge=1, le=240)
    consumer_group: str = "hotline-callback"
    # tests and side-by-side deployments may point the service at other topic names
    tickets_topic: str = Topic.TICKETS.value
