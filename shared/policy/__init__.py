"""The policy engine: the regulation's rules as data and pure functions (no I/O, clock passed in)."""

from shared.policy.branch import BranchConfigError, BranchPolicy
from shared.policy.calendar import Deadline, MissingSchedule, WorkingDayCalendar, YearSchedule
from shared.policy.callbacks import QuietWindow, RetryRule, first_callback_slot, next_attempt_slot
from shared.policy.categories import Category, PolicyError, Subtype, split_requests
from shared.policy.deadlines import apply_limit, deadline_for, warning_for
from shared.policy.grading import Complaint, Grade, SubjectKey, grade_complaint
from shared.policy.limits import CallbackKind, ComplaintLevel, Limit, SlaClock, callback_kind, limit_for

__all__ = [
    "BranchConfigError",
    "BranchPolicy",
    "CallbackKind",
    "Category",
    "Complaint",
    "ComplaintLevel",
    "Deadline",
    "Grade",
    "Limit",
    "MissingSchedule",
    "PolicyError",
    "QuietWindow",
    "RetryRule",
    "SlaClock",
    "SubjectKey",
    "Subtype",
    "WorkingDayCalendar",
    "YearSchedule",
    "apply_limit",
    "callback_kind",
    "deadline_for",
    "first_callback_slot",
    "grade_complaint",
    "limit_for",
    "next_attempt_slot",
    "split_requests",
    "warning_for",
]
