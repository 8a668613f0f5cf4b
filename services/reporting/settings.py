"""The reporting service's own settings (HOTLINE_REPORTING_*); built in bootstrap, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import Topic


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_REPORTING_", extra="ignore")

    consumer_group: str = "hotline-reporting"
    # tests and side-by-side deployments may point the service at other topic names
    tickets_topic: str = Topic.TICKETS.value
    sla_topic: str = Topic.SLA.value
    reporting_topic: str = Topic.REPORTING.value
    # bulletin files (PDF, Excel); default <state dir>/reporting-bulletins
    bulletins_dir: Path | None = None
    # how often the worker looks for finished weeks and months whose bulletins are not published yet
    bulletin_check_seconds: float = Field(default=3600.0, gt=0)
    # a planned interruption may be registered at most this many days ahead and last at most this long
    max_notice_days: int = Field(default=90, ge=1, le=366)
