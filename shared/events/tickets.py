"""The work-order lifecycle events on `hotline.tickets`: intake, dispatch and callback."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
    model_validator,
)

from shared.events.base import (
    Attachment,
    CallbackPreference,
    Channel,
    ComplaintDetails,
    CustomerDetails,
    Identifier,
    Instant,
    Location,
    LongText,
    OrgLevel,
    ShortText,
    SubjectText,
    TicketPayload,
)

# The wire values of categories, clocks, levels and reasons are the policy engine's enums, so a
# producer passes what the policy computed and a consumer hands it straight back to the policy.
from shared.policy.callbacks import FailureReason
from shared.policy.categories import Category
from shared.policy.categories import Subtype as ServiceRequestSubtype
from shared.policy.grading import GradeReason
from shared.policy.limits import CallbackKind, ComplaintLevel
from shared.policy.limits import SlaClock as ClockName
from shared.policy.notices import NoticeKind

# --------------------------------------------------------------------------- intake


class TicketReceived(TicketPayload):
    """A work order was created (by an agent, a 12345 import, or back-filled after an alarm)."""

    event_type = "TicketReceived"
    event_version = 1
    personal_fields = frozenset(
        {
            "customer.name",
            "customer.phone",
            "customer.address",
            "customer.account_number",
            "customer.id_card_number",
        }
    )

    ticket_number: Identifier | None = None  # human-readable, e.g. GX-20261128-000123
    channel: Channel
    category: Category
    subtype: ServiceRequestSubtype | None = None
    received_at: Instant  # the dispatch clock starts here (earlier than occurred_at if back-filled)
    description: LongText = ""
    customer: CustomerDetails = CustomerDetails()
    location: Location = Location()
    complaint: ComplaintDetails | None = None
    hazardous: bool = False
    urgent: bool = False
    callback: CallbackPreference = CallbackPreference()
    owner_agent_id: Identifier | None = None  # first-contact owner (RULES.md §9)
    call_id: Identifier | None = None
    unit_id: Identifier | None = None  # the responsible unit when intake already knows it
    parent_ticket_id: Identifier | None = None  # raised during another ticket's callback
    external_task_id: Identifier | None = None  # the 12345 task
    external_deadline: Instant | None = None  # the government's own deadline, if stricter

    @model_validator(mode="after")
    def _category_details(self) -> TicketReceived:
        if (self.category == "service_request") != (self.subtype is not None):
            raise ValueError("subtype is required for, and only for, category 'service_request'")
        if (self.category == "complaint") != (self.complaint is not None):
            raise ValueError("complaint details are required for, and only for, 'complaint'")
        return self


class TicketResolvedOnFirstContact(TicketPayload):
    """The agent answered on the call and closed the ticket there."""

    event_type = "TicketResolvedOnFirstContact"
    event_version = 1

    agent_id: Identifier
    answer: LongText
    knowledge_article_id: Identifier | None = None


class ComplaintGraded(TicketPayload):
    """A complaint's level was set or raised; the SLA monitor recomputes its `handle` deadline."""

    event_type = "ComplaintGraded"
    event_version = 1

    level: ComplaintLevel
    previous_level: ComplaintLevel | None = None
    subject_key: SubjectText
    reasons: tuple[GradeReason, ...] = Field(min_length=1)
    reason_text: ShortText = ""
    distinct_complainants: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _only_rises(self) -> ComplaintGraded:
        # level 1 is the most severe: a grade only goes up (RULES.md §4)
        if self.previous_level is not None and self.level > self.previous_level:
            raise ValueError("a complaint grade only goes up (level 1 is the most severe)")
        return self


# --------------------------------------------------------------------------- dispatch


class TicketDispatched(TicketPayload):
    """The ticket was sent to a unit; also a re-dispatch after a return or a correction.

    It restates the classification as dispatched (which a correction may have changed), so
    the SLA monitor can start the unit clocks from this event alone.
    """

    event_type = "TicketDispatched"
    event_version = 1

    unit_id: Identifier
    division_id: Identifier
    category: Category
    subtype: ServiceRequestSubtype | None = None
    # as dispatch knows it; ComplaintGraded is authoritative and only raises it, so a consumer
    # keeps the most severe level it has seen
    complaint_level: ComplaintLevel | None = None
    mode: Literal["automatic", "manual"]
    rule_id: Identifier | None = None  # the routing rule that decided, when automatic
    dispatcher_id: Identifier | None = None  # the center supervisor, when manual
    previous_unit_id: Identifier | None = None  # set on a re-dispatch
    dispatch_count: int = Field(default=1, ge=1)
    # the branch's customer-service center as the org tree names it (where escalations end, RULES.md §8)
    center_id: Identifier | None = None
    # a 12345 task's government deadline when stricter than the policy's (§6): it caps every clock
    external_deadline: Instant | None = None


class ManualDispatchQueued(TicketPayload):
    """No rule could route the ticket: it waits in the center's manual-dispatch queue."""

    event_type = "ManualDispatchQueued"
    event_version = 1

    # consumer_failed: dispatch could not handle the ticket (its event is on the dead-letter topic)
    reason: Literal["no_matching_rule", "ambiguous_rules", "returned", "corrected", "consumer_failed"]
    reason_text: ShortText = ""


class TicketAccepted(TicketPayload):
    """The unit took the ticket on."""

    event_type = "TicketAccepted"
    event_version = 1

    unit_id: Identifier
    handler_id: Identifier


class CustomerContacted(TicketPayload):
    """The unit reached the customer; stops the `contact` clock at `contacted_at`."""

    event_type = "CustomerContacted"
    event_version = 1

    unit_id: Identifier
    handler_id: Identifier
    contacted_at: Instant
    method: Literal["phone", "sms", "visit", "other"]
    appointment_at: Instant | None = None
    note: ShortText = ""


class TicketReturned(TicketPayload):
    """The unit sent the ticket back to the center (RULES.md §2, §15(三))."""

    event_type = "TicketReturned"
    event_version = 1

    unit_id: Identifier
    handler_id: Identifier
    reason: Literal["outside_duties", "wrong_or_missing_information", "customer_unreachable"]
    reason_text: ShortText = ""


class TicketReturnRefused(TicketPayload):
    """The center refused a unit's return: the ticket stays with that unit."""

    event_type = "TicketReturnRefused"
    event_version = 1

    unit_id: Identifier
    supervisor_id: Identifier
    reason_text: ShortText = ""


class ExtensionRequested(TicketPayload):
    """The unit asked for more time on one clock, before its deadline."""

    event_type = "ExtensionRequested"
    event_version = 1

    request_id: Identifier
    unit_id: Identifier
    handler_id: Identifier
    clock: ClockName
    current_deadline: Instant
    requested_deadline: Instant
    reason_text: ShortText

    @model_validator(mode="after")
    def _later(self) -> ExtensionRequested:
        if self.requested_deadline <= self.current_deadline:
            raise ValueError("requested_deadline must be later than current_deadline")
        return self


class ExtensionGranted(TicketPayload):
    """The center approved an extension: the clock's deadline moves to `new_deadline`."""

    event_type = "ExtensionGranted"
    event_version = 1

    request_id: Identifier
    unit_id: Identifier
    clock: ClockName
    new_deadline: Instant
    supervisor_id: Identifier


class ExtensionDenied(TicketPayload):
    """The center refused an extension: the deadline stays."""

    event_type = "ExtensionDenied"
    event_version = 1

    request_id: Identifier
    unit_id: Identifier
    clock: ClockName
    supervisor_id: Identifier
    reason_text: ShortText = ""


class TicketReplied(TicketPayload):
    """The unit's reply reached the center; the `callback` clock runs from this event."""

    event_type = "TicketReplied"
    event_version = 1

    reply_id: Identifier
    unit_id: Identifier
    handler_id: Identifier
    result: LongText
    opinion: LongText = ""
    attachments: tuple[Attachment, ...] = ()
    # RULES.md §2: a service request the unit refuses is explained and fed back within 2 wd
    refused: bool = False


class ReplyApproved(TicketPayload):
    """The center accepted the unit's reply; the ticket goes to callback."""

    event_type = "ReplyApproved"
    event_version = 1

    reply_id: Identifier
    unit_id: Identifier
    reviewer_id: Identifier
    reply_received_at: Instant  # the start of the callback clock


class ReplyRejected(TicketPayload):
    """The center sent the reply back to the unit."""

    event_type = "ReplyRejected"
    event_version = 1

    reply_id: Identifier
    unit_id: Identifier
    reviewer_id: Identifier
    reason: Identifier  # a code, e.g. incomplete, inaccurate, missing_evidence
    reason_text: ShortText = ""


class SupervisionFlagged(TicketPayload):
    """A supervisor put a supervision flag (督办) or a spot-check mark on the ticket."""

    event_type = "SupervisionFlagged"
    event_version = 1

    kind: Literal["supervision", "spot_check"]
    supervisor_id: Identifier
    org_level: OrgLevel
    note: ShortText = ""


# --------------------------------------------------------------------------- callback


class CallbackScheduled(TicketPayload):
    """A callback attempt was planned (first one, a customer-set time, or a retry)."""

    event_type = "CallbackScheduled"
    event_version = 1

    callback_id: Identifier
    kind: CallbackKind
    due_at: Instant  # the callback clock's deadline
    scheduled_for: Instant  # the slot of the next attempt
    attempt_number: int = Field(ge=1)
    reason: Literal["reply_received", "customer_requested", "retry"]


class CallbackAttempted(TicketPayload):
    """An agent called the customer; the first attempt stops the `callback` clock."""

    event_type = "CallbackAttempted"
    event_version = 1

    callback_id: Identifier
    attempt_number: int = Field(ge=1)
    agent_id: Identifier
    outcome: Literal["reached", "asked_another_time"] | FailureReason


SurveyQuestionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
SurveyAnswer = Annotated[int, Field(ge=0, le=5)]


class CallbackCompleted(TicketPayload):
    """The customer was reached and answered; carries the survey for satisfaction statistics."""

    event_type = "CallbackCompleted"
    event_version = 1

    callback_id: Identifier
    kind: CallbackKind
    agent_id: Identifier
    unit_id: Identifier
    division_id: Identifier
    category: Category
    problem_solved: bool | None = None  # surveys only
    satisfaction: int | None = Field(default=None, ge=1, le=5)  # surveys only
    comment: ShortText = ""
    # issue 18: the branch's survey questions answered (question id -> 1-5, or 1 / 0 for yes / no);
    # optional, so version 1 events without it still decode (shared/policy/survey.py)
    answers: dict[SurveyQuestionId, SurveyAnswer] = Field(default_factory=dict, max_length=20)


class CallbackAbandoned(TicketPayload):
    """The customer could not be reached after the required attempts (RULES.md §5)."""

    event_type = "CallbackAbandoned"
    event_version = 1

    callback_id: Identifier
    attempts: int = Field(ge=1)
    last_outcome: FailureReason
    reason_text: ShortText


class TicketReopened(TicketPayload):
    """The ticket went back to the unit; its `resolve` clock starts again from here."""

    event_type = "TicketReopened"
    event_version = 1

    unit_id: Identifier
    reason: Literal["reply_does_not_match_facts"]
    customer_account: LongText  # what the customer said on the callback
    callback_id: Identifier | None = None
    agent_id: Identifier


class TicketClosed(TicketPayload):
    """The ticket's life is over; every clock still running stops."""

    event_type = "TicketClosed"
    event_version = 1

    reason: Literal[
        "callback_completed",
        "callback_abandoned",
        "no_callback_owed",
        "closed_by_center",
    ]
    reason_text: ShortText = ""
    closed_by: Identifier | None = None


# --------------------------------------------------------------------------- outbound


class CustomerNotified(TicketPayload):
    """A status SMS to the ticket's customer was queued (services/outbound); the ticket's history shows it."""

    event_type = "CustomerNotified"
    event_version = 1

    kind: NoticeKind
    text: LongText  # the message as sent: the ticket's own facts only
    scheduled_for: Instant  # after the quiet window for a non-urgent notice (RULES.md §5)
    message_key: Identifier


class ServiceRated(TicketPayload):
    """The customer rated the service of a finished ticket on the self-service page (issue 21, services/outbound)."""

    event_type = "ServiceRated"
    event_version = 1

    rating: int = Field(ge=1, le=5)  # satisfaction 1-5, as the callback survey's (RULES.md §5)
    comment: ShortText = ""
