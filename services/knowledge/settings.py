"""The knowledge service's own settings (HOTLINE_KNOWLEDGE_*) and counters; built in bootstrap, never at import."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import Topic


class KnowledgeMetrics:
    """The service's own counters, registered in its API app's registry (shown on that app's /metrics)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.searches = Counter(
            "hotline_knowledge_searches",
            "Agent searches by outcome (fulltext, fuzzy, empty)",
            ["outcome"],
            registry=registry,
        )
        self.steps = Counter(
            "hotline_knowledge_workflow_steps", "Workflow steps taken, by action", ["action"], registry=registry
        )
        self.feedback = Counter(
            "hotline_knowledge_feedback", "Agents' verdicts on articles", ["helpful"], registry=registry
        )


class KnowledgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_KNOWLEDGE_", extra="ignore")

    # tests and side-by-side deployments may point the service at another topic name
    knowledge_topic: str = Topic.KNOWLEDGE.value
    # an article with no review-by date of its own is due for review this many days after publication
    default_review_days: int = Field(default=365, ge=1, le=3650)
    # search: results per page, and the feedback count below which an article is not judged "least helpful"
    search_limit: int = Field(default=10, ge=1, le=50)
    least_helpful_min_votes: int = Field(default=3, ge=1)
    max_attachments: int = Field(default=10, ge=0, le=50)
    # uploaded files (a form, a price notice as PDF or image); base64 in JSON must fit the HTTP body limit
    attachments_dir: Path | None = None  # default: <state dir>/knowledge-attachments
    max_attachment_bytes: int = Field(default=700_000, ge=1)
