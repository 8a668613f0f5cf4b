"""Request and response models of the knowledge API, one family per resource; text is validated here, once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, model_validator

from shared.policy.categories import SUBTYPES, Category, Subtype


def _no_control_characters(value: str) -> str:
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise ValueError("must not contain control characters")
    return value


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200), AfterValidator(_no_control_characters)
]
Body = Annotated[str, StringConstraints(min_length=1, max_length=50_000), AfterValidator(_no_control_characters)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^\s,，]+$")]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_no_control_characters)]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000), AfterValidator(_no_control_characters)
]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentLink(Strict):
    """A document the article points to (a form, a price notice): its name and where it is kept."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    url: HttpUrl


class ArticleFields(Strict):
    title: Title
    body: Body = Field(description="Markdown; raw HTML is not rendered")
    category: Category
    subtype: Subtype | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    attachments: list[AttachmentLink] = Field(default_factory=list, max_length=10)
    review_by: date | None = Field(default=None, description="after this date agents see it flagged as possibly stale")

    @model_validator(mode="after")
    def _subtype_fits(self) -> ArticleFields:
        allowed = SUBTYPES.get(self.category, frozenset())
        if self.subtype is not None and self.subtype not in allowed:
            raise ValueError(f"sub-type {self.subtype.value} does not belong to category {self.category.value}")
        return self


class ArticleCreate(ArticleFields):
    group_wide: bool = Field(default=False, description="visible to every branch of the group, not only this one")
    owner_unit: Identifier | None = Field(
        default=None, description="a division drafting for one of its units; a unit handler owns what it drafts"
    )


class ArticleUpdate(ArticleFields):
    """The whole draft, as it should now read (a version is edited as a whole)."""


class FileUpload(Strict):
    filename: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    media_type: Annotated[str, StringConstraints(min_length=3, max_length=127)]
    content_base64: str = Field(max_length=1_000_000)


class FilePublic(BaseModel):
    attachment_id: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str


class StepRequest(Strict):
    notes: Note = ""


class RetireRequest(Strict):
    reason: Reason


class NotePublic(BaseModel):
    version: int
    action: str
    actor_id: str
    actor_role: str
    notes: str
    at: datetime


class VersionPublic(BaseModel):
    version: int
    status: str
    title: str
    body: str
    body_html: str = Field(description="the body rendered and sanitised (allow-listed tags only)")
    category: str
    subtype: str | None
    tags: list[str]
    attachments: list[dict[str, str]]
    files: list[FilePublic]
    review_by: date | None
    author_id: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None
    published_at: datetime | None


class ArticlePublic(BaseModel):
    article_id: str
    branch: str
    group_wide: bool
    owner_unit: str | None
    owner_division: str | None
    status: str = Field(description="the status of the version shown (working one if any, else the live one)")
    live_version: int | None
    working_version: int | None
    retired_at: datetime | None
    retired_reason: str | None
    stale: bool = Field(description="the live version is past its review-by date")
    allowed_actions: list[str] = Field(description="what the caller may do now")
    current: VersionPublic
    live: VersionPublic | None
    notes: list[NotePublic]


class ArticleSummary(BaseModel):
    article_id: str
    title: str
    status: str
    version: int
    category: str
    subtype: str | None
    owner_unit: str | None
    owner_division: str | None
    review_by: date | None
    stale: bool
    updated_at: datetime


class VersionSummary(BaseModel):
    version: int
    status: str
    title: str
    author_id: str
    updated_at: datetime
    published_at: datetime | None


class DiffPublic(BaseModel):
    article_id: str
    from_version: int
    to_version: int
    changed_fields: list[str]
    unified: str = Field(description="unified diff of the title and body lines")
    similarity: float


class SearchHitPublic(BaseModel):
    article_id: str
    version: int
    title: str
    snippet: str
    category: str
    subtype: str | None
    branch: str
    group_wide: bool
    tags: list[str]
    score: float
    matched_by: Literal["fulltext", "fuzzy"]
    stale: bool = Field(description="past its review-by date: possibly out of date, check before reading it out")
    review_by: date | None
    published_at: datetime


class SearchPublic(BaseModel):
    query: str
    words: list[str] = Field(description="the words searched for, synonyms included")
    fuzzy_used: bool
    need_recorded: bool = Field(description="nothing was found: the question was counted as a knowledge need")
    hits: list[SearchHitPublic]


class FeedbackCreate(Strict):
    ticket_id: Identifier
    helpful: bool
    comment: Note = ""


class FeedbackPublic(BaseModel):
    article_id: str
    version: int
    ticket_id: str
    helpful: bool
    comment: str
    at: datetime


class NeedCreate(Strict):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    note: Note = ""


class NeedPublic(BaseModel):
    need_id: int
    text: str
    source: str
    count: int
    submitted_by_unit: str | None
    note: str
    status: str
    first_at: datetime
    last_at: datetime


class HelpfulnessPublic(BaseModel):
    article_id: str
    title: str
    helpful: int
    votes: int
    helpful_share: float


class ImprovementPublic(BaseModel):
    needs: list[NeedPublic]
    least_helpful: list[HelpfulnessPublic]
