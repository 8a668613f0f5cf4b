"""Knowledge-base events on `hotline.knowledge`, keyed by article id."""

from __future__ import annotations

from datetime import date

from pydantic import (
    Field,
)

from shared.events.base import (
    Identifier,
    KnowledgePayload,
    ShortText,
    SubjectText,
)

# The wire values of categories, clocks, levels and reasons are the policy engine's enums, so a
# producer passes what the policy computed and a consumer hands it straight back to the policy.
from shared.policy.categories import Category
from shared.policy.categories import Subtype as ServiceRequestSubtype

# --------------------------------------------------------------------------- knowledge base


class ArticleDrafted(KnowledgePayload):
    """A unit or division started an article, or a new version of a published one (版本 `version`)."""

    event_type = "ArticleDrafted"
    event_version = 1

    version: int = Field(ge=1)
    title: ShortText
    category: Category
    subtype: ServiceRequestSubtype | None = None
    owner_unit: Identifier | None = None
    owner_division: Identifier | None = None
    author_id: Identifier
    group_wide: bool = False
    imported: bool = False  # loaded from an existing FAQ by `hotline knowledge import`


class ArticleDraftEdited(KnowledgePayload):
    """A draft version was changed by its writers."""

    event_type = "ArticleDraftEdited"
    event_version = 1

    version: int = Field(ge=1)
    editor_id: Identifier
    title: ShortText


class ArticleSubmitted(KnowledgePayload):
    """A draft version went to the owner's division for review (审核)."""

    event_type = "ArticleSubmitted"
    event_version = 1

    version: int = Field(ge=1)
    submitter_id: Identifier
    owner_division: Identifier | None = None


class ArticleApproved(KnowledgePayload):
    """The division approved a version; it waits for the center to publish it."""

    event_type = "ArticleApproved"
    event_version = 1

    version: int = Field(ge=1)
    reviewer_id: Identifier
    notes: ShortText = ""


class ArticleSentBack(KnowledgePayload):
    """A reviewer sent a version back to its writers with notes; it is a draft again."""

    event_type = "ArticleSentBack"
    event_version = 1

    version: int = Field(ge=1)
    reviewer_id: Identifier
    notes: ShortText


class ArticlePublished(KnowledgePayload):
    """The center published a version: agents find it from now on; the previous one is superseded."""

    event_type = "ArticlePublished"
    event_version = 1

    version: int = Field(ge=1)
    publisher_id: Identifier
    title: ShortText
    category: Category
    subtype: ServiceRequestSubtype | None = None
    previous_version: int | None = Field(default=None, ge=1)
    review_by: date | None = None  # after this date (branch zone) agents see it flagged as possibly stale


class ArticleRetired(KnowledgePayload):
    """The article was withdrawn from search with a reason."""

    event_type = "ArticleRetired"
    event_version = 1

    version: int = Field(ge=1)
    retired_by: Identifier
    reason: SubjectText


class ArticleFeedbackRecorded(KnowledgePayload):
    """An agent said whether an article helped on a ticket (the improvement loop, 优化)."""

    event_type = "ArticleFeedbackRecorded"
    event_version = 1

    version: int = Field(ge=1)
    agent_id: Identifier
    ticket_id: Identifier
    helpful: bool
    comment: ShortText = ""
