"""HOTLINE_OUTBOUND_*: what only the outbound service needs (the SMS gateways are HOTLINE_SMS_*, shared/sms)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import Topic

GROUP_ID = "hotline-outbound"
PACKAGED_TEMPLATES = Path(__file__).parent / "templates"


class OutboundSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_OUTBOUND_", extra="ignore")

    consumer_group: str = GROUP_ID
    topic_tickets: str = Topic.TICKETS.value
    # a branch's templates: $HOTLINE_CONFIG_DIR/notices/<branch>.toml, else this folder's <branch>.toml,
    # else its default.toml
    templates_dir: Path = PACKAGED_TEMPLATES
    # webhooks: a loopback, link-local or private URL is refused unless this allows it (SSRF)
    webhook_allow_private: bool = False
    # seconds before each retry of a failed delivery; the last one past 24 h marks it failed (an alert)
    webhook_retry_delays: tuple[float, ...] = (10, 60, 300, 1800, 3600, 7200, 14400, 28800, 28800, 28800)
    webhook_poll_interval: float = Field(default=1.0, gt=0)
    # the 12345 reply loop: the government platform's HTTP endpoint and token (none: reports fail, visibly)
    government_url: str | None = None
    government_token: SecretStr = SecretStr("")
    government_retry_delays: tuple[float, ...] = (10, 60, 300, 1800, 3600, 7200)
    government_poll_interval: float = Field(default=1.0, gt=0)
    # customer self-service (issue 21 part 3): requests go to intake as channel `web` with this integration key
    intake_url: str = "http://127.0.0.1:8101"
    intake_api_key: SecretStr | None = None
    identity_url: str | None = None  # with it, the key is traded for an integration token
    code_lifetime_seconds: float = Field(default=300, gt=0)
    code_max_wrong: int = Field(default=5, ge=1)
    code_resend_seconds: float = Field(default=60, ge=0)
    codes_per_hour: int = Field(default=5, ge=1)
    customer_session_minutes: float = Field(default=30, gt=0)
    # the callers whose X-Customer-Address (the browser's address) counts for the per-client limits of the
    # sign-in codes (shared/http/ratelimit.py code_request, code_check): the console; any other caller is its own
    self_service_trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
