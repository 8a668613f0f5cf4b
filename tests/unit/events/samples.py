"""One sample payload per registered event, every optional field filled, for the contract tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from shared.events import (
    ArticleApproved,
    ArticleDrafted,
    ArticleDraftEdited,
    ArticleFeedbackRecorded,
    ArticlePublished,
    ArticleRetired,
    ArticleSentBack,
    ArticleSubmitted,
    Attachment,
    BulletinPublished,
    CallAnswered,
    CallbackAbandoned,
    CallbackAttempted,
    CallbackCompleted,
    CallbackPreference,
    CallbackScheduled,
    CallEnded,
    CallOffered,
    ComplaintDetails,
    ComplaintGraded,
    CustomerContacted,
    CustomerDetails,
    CustomerNotified,
    Event,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    HotSpotDetected,
    KeyKind,
    Location,
    ManualDispatchQueued,
    Payload,
    Recipient,
    ReplyApproved,
    ReplyRejected,
    ServiceRated,
    SlaBreached,
    SlaDeadlineMoved,
    SlaEscalated,
    SlaWarning,
    SupervisionFlagged,
    TicketAccepted,
    TicketClosed,
    TicketDispatched,
    TicketReceived,
    TicketReopened,
    TicketReplied,
    TicketResolvedOnFirstContact,
    TicketReturned,
    TicketReturnRefused,
    UrgentNoticeRequested,
    new_event,
)
from shared.policy.callbacks import FailureReason
from shared.policy.categories import Category, Subtype
from shared.policy.grading import GradeReason
from shared.policy.limits import CallbackKind, ComplaintLevel, SlaClock

SHANGHAI = timezone(timedelta(hours=8))
T0 = datetime(2026, 9, 30, 20, 59, 30, 123456, tzinfo=SHANGHAI)  # eve of the National Day week


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _ticket_received() -> TicketReceived:
    return TicketReceived(
        ticket_number="GX-20260930-000123",
        channel="gov12345",
        category=Category.COMPLAINT,
        received_at=at(-3),
        description="燃气表读数异常，工作人员态度差",
        customer=CustomerDetails(
            customer_id="C-42",
            name="张三",
            phone="13800138000",
            address="广西南宁市青秀区民族大道 1 号 3 单元 501",
            account_number="A-0099",
            id_card_number="11010519491231002X",
            key_customer=True,
        ),
        location=Location(province="广西", city="南宁", district="青秀区", community="民族大道"),
        complaint=ComplaintDetails(
            subject_key="GX|民族大道 1 号|meter_reading",
            place="民族大道 1 号",
            complaint_type="meter_reading",
            complainant_count=6,
            collective=True,
            litigation=True,
            media_exposure=True,
            level=ComplaintLevel.MAJOR,
            preliminary_level=ComplaintLevel.GENERAL,
        ),
        hazardous=True,
        urgent=True,
        callback=CallbackPreference(mode="customer_time", requested_at=at(60 * 25)),
        owner_agent_id="agent-7",
        call_id="call-1",
        unit_id="U-7",
        parent_ticket_id="GX-20260929-000001",
        external_task_id="12345-778899",
        external_deadline=at(60 * 24),
    )


SAMPLES: dict[type[Payload], Callable[[], Payload]] = {
    HotSpotDetected: lambda: HotSpotDetected(
        hot_spot_id="HS-1",
        category=Category.REPAIR,
        district="青秀区",
        community="凤岭小区",
        count=5,
        threshold=5,
        window_minutes=120,
        first_call_at=at(0),
        last_call_at=at(50),
        active_until=at(170),
        message="青秀区凤岭小区近2小时内故障报修来电集中（5起）",
    ),
    BulletinPublished: lambda: BulletinPublished(
        bulletin_id="B-GX-month-2026-11",
        period="month",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        scope="division",
        division_id="D-1",
        title="2026年11月 服务通报",
        published_by="center-1",
        tickets=1234,
        formats=("pdf",),
    ),
    ArticleDrafted: lambda: ArticleDrafted(
        version=2,
        title="燃气表不走字怎么办",
        category=Category.REPAIR,
        subtype=None,
        owner_unit="U-1",
        owner_division="D-1",
        author_id="handler-1",
        group_wide=True,
        imported=True,
    ),
    ArticleDraftEdited: lambda: ArticleDraftEdited(version=1, editor_id="handler-1", title="燃气表不走字"),
    ArticleSubmitted: lambda: ArticleSubmitted(version=1, submitter_id="handler-1", owner_division="D-1"),
    ArticleApproved: lambda: ArticleApproved(version=1, reviewer_id="division-1", notes="可以发布"),
    ArticleSentBack: lambda: ArticleSentBack(version=1, reviewer_id="division-1", notes="补充安全提示"),
    ArticlePublished: lambda: ArticlePublished(
        version=2,
        publisher_id="center-1",
        title="燃气表不走字怎么办",
        category=Category.SERVICE_REQUEST,
        subtype=Subtype.SAFETY_INSPECTION,
        previous_version=1,
        review_by=date(2027, 6, 30),
    ),
    ArticleRetired: lambda: ArticleRetired(version=2, retired_by="center-1", reason="收费标准已调整"),
    ArticleFeedbackRecorded: lambda: ArticleFeedbackRecorded(
        version=2, agent_id="agent-7", ticket_id="GX-1", helpful=False, comment="没有说明阶梯气价"
    ),
    TicketReceived: _ticket_received,
    TicketResolvedOnFirstContact: lambda: TicketResolvedOnFirstContact(
        agent_id="agent-7", answer="Meters are read monthly.", knowledge_article_id="KB-12"
    ),
    ComplaintGraded: lambda: ComplaintGraded(
        level=ComplaintLevel.GENERAL,
        previous_level=ComplaintLevel.MINOR,
        subject_key="GX|民族大道 1 号|meter_reading",
        reasons=(GradeReason.DISTINCT_COMPLAINANTS,),
        reason_text="5 complainants in 30 days",
        distinct_complainants=5,
    ),
    TicketDispatched: lambda: TicketDispatched(
        unit_id="U-7",
        division_id="D-2",
        category=Category.SERVICE_REQUEST,
        subtype=Subtype.INSTALLATION,
        complaint_level=ComplaintLevel.MINOR,
        mode="manual",
        rule_id="area-qingxiu",
        dispatcher_id="sup-1",
        previous_unit_id="U-3",
        dispatch_count=2,
        center_id="C-NN",
        external_deadline=at(600),
    ),
    ManualDispatchQueued: lambda: ManualDispatchQueued(
        reason="no_matching_rule", reason_text="no service area covers the address"
    ),
    TicketAccepted: lambda: TicketAccepted(unit_id="U-7", handler_id="h-1"),
    CustomerContacted: lambda: CustomerContacted(
        unit_id="U-7",
        handler_id="h-1",
        contacted_at=at(30),
        method="visit",
        appointment_at=at(600),
        note="visit agreed",
    ),
    TicketReturned: lambda: TicketReturned(
        unit_id="U-7",
        handler_id="h-1",
        reason="outside_duties",
        reason_text="the address is served by U-9",
    ),
    TicketReturnRefused: lambda: TicketReturnRefused(
        unit_id="U-7", supervisor_id="sup-1", reason_text="the address is in your area"
    ),
    ExtensionRequested: lambda: ExtensionRequested(
        request_id="x-1",
        unit_id="U-7",
        handler_id="h-1",
        clock=SlaClock.RESOLVE,
        current_deadline=at(60),
        requested_deadline=at(60 * 48),
        reason_text="parts on order",
    ),
    ExtensionGranted: lambda: ExtensionGranted(
        request_id="x-1",
        unit_id="U-7",
        clock=SlaClock.RESOLVE,
        new_deadline=at(60 * 48),
        supervisor_id="sup-1",
    ),
    ExtensionDenied: lambda: ExtensionDenied(
        request_id="x-1",
        unit_id="U-7",
        clock=SlaClock.RESOLVE,
        supervisor_id="sup-1",
        reason_text="no reason given",
    ),
    TicketReplied: lambda: TicketReplied(
        reply_id="r-1",
        unit_id="U-7",
        handler_id="h-1",
        result="Meter replaced.",
        opinion="Customer satisfied on site.",
        attachments=(Attachment(attachment_id="att-1", media_type="image/jpeg", size_bytes=1234, filename="m.jpg"),),
        refused=True,
    ),
    ReplyApproved: lambda: ReplyApproved(reply_id="r-1", unit_id="U-7", reviewer_id="sup-1", reply_received_at=at(120)),
    ReplyRejected: lambda: ReplyRejected(
        reply_id="r-1",
        unit_id="U-7",
        reviewer_id="sup-1",
        reason="missing_evidence",
        reason_text="attach the receipt",
    ),
    SupervisionFlagged: lambda: SupervisionFlagged(
        kind="spot_check", supervisor_id="sup-1", org_level="division", note="check photos"
    ),
    SlaWarning: lambda: SlaWarning(
        clock=SlaClock.CONTACT,
        started_at=at(0),
        deadline=at(120),
        unit_id="U-7",
        division_id="D-2",
        elapsed_share=0.8,
        provisional=True,
    ),
    SlaBreached: lambda: SlaBreached(
        clock=SlaClock.HANDLE,
        deadline=at(180),
        unit_id="U-7",
        division_id="D-2",
        category=Category.COMPLAINT,
        complaint_level=ComplaintLevel.MINOR,
        late_by_seconds=0.25,
        provisional=True,
    ),
    SlaEscalated: lambda: SlaEscalated(
        clock=SlaClock.HANDLE,
        deadline=at(180),
        to_level="center",
        to_org_id="center-GX",
        unit_id="U-7",
        division_id="D-2",
        reason="urgent",
        late_by_seconds=1.5,
    ),
    SlaDeadlineMoved: lambda: SlaDeadlineMoved(
        clock=SlaClock.RESOLVE,
        started_at=at(0),
        previous_deadline=at(60 * 24),
        deadline=at(60 * 24 * 8),
        unit_id="U-7",
        division_id="D-2",
        provisional=True,
    ),
    UrgentNoticeRequested: lambda: UrgentNoticeRequested(
        reason="alarm",
        recipients=(Recipient(org_level="unit", org_id="U-7"),),
        channels=("sms",),
        category=Category.ALARM,
        message="燃气泄漏报警，请立即处置",
        address="民族大道 1 号 3 单元 501",
        contact_phone="13800138000",
    ),
    CallbackScheduled: lambda: CallbackScheduled(
        callback_id="cb-1",
        kind=CallbackKind.SURVEY,
        due_at=at(60 * 24),
        scheduled_for=at(60 * 11),
        attempt_number=2,
        reason="retry",
    ),
    CallbackAttempted: lambda: CallbackAttempted(
        callback_id="cb-1", attempt_number=2, agent_id="agent-8", outcome=FailureReason.BUSY
    ),
    CallbackCompleted: lambda: CallbackCompleted(
        callback_id="cb-1",
        kind=CallbackKind.SURVEY,
        agent_id="agent-8",
        unit_id="U-7",
        division_id="D-2",
        category=Category.REPAIR,
        problem_solved=True,
        satisfaction=5,
        comment="quick",
    ),
    CallbackAbandoned: lambda: CallbackAbandoned(
        callback_id="cb-1",
        attempts=3,
        last_outcome=FailureReason.SWITCHED_OFF,
        reason_text="3 attempts, phone switched off",
    ),
    TicketReopened: lambda: TicketReopened(
        unit_id="U-7",
        reason="reply_does_not_match_facts",
        customer_account="Nobody came.",
        callback_id="cb-1",
        agent_id="agent-8",
    ),
    TicketClosed: lambda: TicketClosed(reason="callback_abandoned", reason_text="unreachable", closed_by="agent-8"),
    CustomerNotified: lambda: CustomerNotified(
        kind="dispatched",
        text="【燃气热线】您的故障报修工单GX-20261201-000123已派至维修单位",
        scheduled_for=datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=8))),
        message_key="status:6f1c",
    ),
    ServiceRated: lambda: ServiceRated(rating=4, comment="师傅很准时"),
    CallOffered: lambda: CallOffered(
        caller_number="13800138000", dialled_number="0771-96877", queue="gas", extension="8001"
    ),
    CallAnswered: lambda: CallAnswered(agent_id="agent-7", queue="gas"),
    CallEnded: lambda: CallEnded(
        answered=True,
        agent_id="agent-7",
        talk_seconds=93.5,
        ended_by="caller",
        recording_ref="rec/2026/09/30/call-1.wav",
    ),
}

# sample fields left at their default on purpose: the alternative excludes them
SAMPLE_KEYS = {KeyKind.TICKET: "GX-1", KeyKind.CALL: "call-1", KeyKind.ARTICLE: "KB-1", KeyKind.REPORT: "HS-1"}

LEFT_AT_DEFAULT: dict[type[Payload], frozenset[str]] = {
    TicketReceived: frozenset({"subtype"}),  # a complaint has no sub-type
    ArticleDrafted: frozenset({"subtype"}),  # a repair article has no sub-type
}


def sample_event(cls: type[Payload], **envelope: Any) -> Event[Payload]:
    """A whole event of this payload class with a plausible envelope."""
    ids: dict[str, Any] = {f"{cls.keyed_by.value}_id": SAMPLE_KEYS[cls.keyed_by]}
    fields: dict[str, Any] = {
        "branch": "GX",
        "producer": "test",
        "correlation_id": "req-1",
        "occurred_at": T0,
        **ids,
        **envelope,
    }
    return new_event(SAMPLES[cls](), **fields)
