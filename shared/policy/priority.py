"""RULES.md §9: one order of work for every queue — deadlines first, then priority, then the oldest.

Priority is the customer's importance, the hazard and the urgency the agent recorded (§14(四)) and the
complaint's grade for its likely impact (§14(六)). The regulation names one priority that "orders unit
inboxes and callback queues after deadlines" and never lengthens a limit: one score, one sort key, used by
dispatch's unit inbox and center queues and by the callback queue (which stores the score to sort in SQL).
"""

from __future__ import annotations

from datetime import datetime

from shared.policy.limits import ComplaintLevel


def priority_score(*, key_customer: bool, urgent: bool, hazardous: bool, complaint_level: ComplaintLevel | None) -> int:
    """The priority of a piece of work, higher first: one point each for importance, urgency and hazard
    (§14(四)), and the complaint's grade for its likely impact (§14(六)): two for level 1, one for level 2."""
    score = int(key_customer) + int(urgent) + int(hazardous)
    if complaint_level is ComplaintLevel.MAJOR:
        score += 2
    elif complaint_level is ComplaintLevel.GENERAL:
        score += 1
    return score


def work_order(
    *, deadline: datetime | None, priority: int, since: datetime
) -> tuple[bool, datetime | None, int, datetime]:
    """The sort key of a queue: the nearest deadline first (work with none last), then the higher priority,
    then the oldest (`since`: received, or scheduled)."""
    return (deadline is None, deadline, -priority, since)
