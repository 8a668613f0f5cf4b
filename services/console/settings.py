"""The console's settings (HOTLINE_CONSOLE_*): where the other services answer, its topics, cookies, language."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import Topic

CONSOLE_PORT = 8100
# the repository's node_modules (package.json at its root), where `make setup` puts htmx
_REPO_ROOT = Path(__file__).resolve().parents[2]


class ConsoleSettings(BaseSettings):
    """Built in bootstrap, never at import."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_CONSOLE_", extra="ignore")

    port: int = CONSOLE_PORT
    intake_url: str = "http://127.0.0.1:8101"
    dispatch_url: str = "http://127.0.0.1:8102"
    sla_url: str = "http://127.0.0.1:8103"
    callback_url: str = "http://127.0.0.1:8104"
    identity_url: str = "http://127.0.0.1:8105"
    reporting_url: str = "http://127.0.0.1:8107"  # area notices at the call pop (issue 16)
    knowledge_url: str = "http://127.0.0.1:8106"
    outbound_url: str = "http://127.0.0.1:8108"  # issue 21: the customers' self-service pages
    api_timeout_seconds: float = Field(default=10.0, gt=0)

    topic_tickets: str = Topic.TICKETS.value
    topic_sla: str = Topic.SLA.value
    topic_notifications: str = Topic.NOTIFICATIONS.value
    topic_cti_calls: str = Topic.CTI_CALLS.value
    # one consumer group per console instance, so each instance sees every event for its own browsers
    instance_id: str | None = None

    # Secure cookies: None = when the request came over TLS (or a proxy said so)
    cookie_secure: bool | None = None
    session_hours: float = Field(default=12.0, gt=0)
    default_locale: str = "zh_CN"
    vendor_dir: Path = _REPO_ROOT / "node_modules"
    heartbeat_seconds: float = Field(default=15.0, gt=0)
    # issue 21: the branch whose customers the self-service pages serve (None: the console's own branch, else demo)
    self_service_branch: str | None = None
