"""Dispatch's own settings (HOTLINE_DISPATCH_*); what every service shares is `shared.runtime.ServiceSettings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import Topic

GROUP_ID = "hotline-dispatch"


class DispatchSettings(BaseSettings):
    """HOTLINE_DISPATCH_*: what only dispatch needs."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_DISPATCH_", extra="ignore")

    attachments_dir: Path | None = None  # default: <state_dir>/dispatch-attachments
    max_attachment_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_attachments_per_reply: int = Field(default=10, ge=1)
    # "sms": urgent notices as SMS through the branch's gateway (HOTLINE_SMS_*, shared/sms); "logging";
    # or "package.module:Class" (a plugin)
    notifier: str = "logging"
    consumer_group: str = GROUP_ID
    topic_tickets: str = Topic.TICKETS.value
    topic_notifications: str = Topic.NOTIFICATIONS.value
    seed_orgs: bool = True  # load shared/config/orgs/<branch>.toml into a branch with no org tree
