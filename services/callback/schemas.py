"""The callback API's request and response models (what an agent reads and sends)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from services.callback.scheduling import Outcome
from shared.http.types import Flag, Instant
from shared.policy.categories import Category, Subtype
from shared.privacy import MaskedName, MaskedPhone


class CallbackPublic(BaseModel):
    """A callback as an agent sees it in the queue: what to read out and whom to call (masked)."""

    callback_id: str
    ticket_id: str
    ticket_number: str | None
    round: int = Field(description="1, then 2 after a reopening, and so on")
    kind: str = Field(description="survey (回访) or reply (回复)")
    category: str
    status: Literal["scheduled", "completed", "abandoned", "reopened", "cancelled"]
    unit_id: str
    division_id: str | None
    due_at: datetime = Field(description="the callback clock's deadline, in the branch's zone")
    provisional: bool
    scheduled_for: datetime = Field(description="the earliest instant of the next attempt")
    schedule_reason: str
    next_attempt_number: int
    failed_attempts: int
    priority: int
    reply_text: str = Field(description="the unit's reply, to read out to the customer")
    customer_name: MaskedName | None
    customer_phone: MaskedPhone | None
    claimed_by: str | None
    claim_expires_at: datetime | None


class AttemptPublic(BaseModel):
    attempt_number: int
    agent_id: str
    outcome: str
    scheduled_for: datetime
    attempted_at: datetime
    note: str


class NewTicketPublic(BaseModel):
    request_id: str
    status: Literal["pending", "created", "rejected"]
    created_ticket_id: str | None
    tries: int
    last_error: str | None


class CallbackDetail(CallbackPublic):
    attempts: list[AttemptPublic]
    problem_solved: bool | None
    satisfaction: int | None
    comment: str
    outcome_text: str = Field(description="the reason written on an abandoned ticket, or the customer's account")
    finished_at: datetime | None
    new_tickets: list[NewTicketPublic]


class QueuePage(BaseModel):
    now: datetime
    quiet_window: bool = Field(description="true while only customer-set times may be called (RULES.md §5)")
    items: list[CallbackPublic]


class NewRequestIn(BaseModel):
    """A new request raised on the call; it becomes a new ticket linked to this one (RULES.md §5)."""

    category: Category
    subtype: Subtype | None = None
    description: str = Field(min_length=1, max_length=20_000)
    callback_mode: Literal["required", "declined"] = "required"
    address: str | None = Field(default=None, min_length=1, max_length=2_000, description="where the work is")
    district: str | None = Field(default=None, min_length=1, max_length=200, description="for routing")

    @model_validator(mode="after")
    def _subtype_for_service_requests(self) -> NewRequestIn:
        if (self.category is Category.SERVICE_REQUEST) != (self.subtype is not None):
            raise ValueError("subtype is required for, and only for, category 'service_request'")
        return self


class OutcomeIn(BaseModel):
    """What happened on the call."""

    outcome: Outcome
    problem_solved: Flag | None = Field(default=None, description="surveys, when reached")
    satisfaction: int | None = Field(default=None, ge=1, le=5, description="surveys, when reached: 1-5")
    comment: str = Field(default="", max_length=2_000)
    customer_account: str = Field(default="", max_length=20_000, description="reply_mismatch: what the customer said")
    call_back_at: Instant | None = Field(default=None, description="asked_another_time: the customer's time")
    new_request: NewRequestIn | None = Field(default=None, description="reached: a new request to open a ticket for")
    # issue 18: the branch's survey questions for the ticket's category (shared/policy/survey.py)
    answers: dict[str, int] = Field(
        default_factory=dict, max_length=20, description="surveys, when reached: question id -> 1-5, or 1 / 0"
    )


class OutcomeResult(BaseModel):
    callback: CallbackDetail
    events: list[str] = Field(description="the events emitted, in order")


class SatisfactionRow(BaseModel):
    key: str | None
    completed: int
    abandoned: int
    reopened: int
    surveys: int
    solved: int
    solved_rate: float | None
    average_satisfaction: float | None
    ratings: dict[str, int]


class SatisfactionReport(BaseModel):
    branch: str
    group_by: Literal["unit", "division", "category"]
    since: datetime | None
    until: datetime | None
    rows: list[SatisfactionRow]


class NewRequestPublic(NewTicketPublic):
    callback_id: str
    parent_ticket_id: str
    created_at: datetime
