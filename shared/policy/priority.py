"""RULES.md §9: the order of work — deadlines first, then the customer's importance, the hazard and the urgency.

Priority orders unit inboxes and callback queues after deadlines; it never lengthens a limit.
"""

from __future__ import annotations

from datetime import datetime

from shared.policy.limits import ComplaintLevel


def priority_score(*, key_customer: bool, urgent: bool, hazardous: bool, complaint_level: ComplaintLevel | None) -> int:
    """A callback's priority, higher first: one point each for importance, urgency and hazard (§14(四)), and
    the complaint's grade for its likely impact (§14(六)): two for level 1, one for level 2."""
    score = int(key_customer) + int(urgent) + int(hazardous)
    if complaint_level is ComplaintLevel.MAJOR:
        score += 2
    elif complaint_level is ComplaintLevel.GENERAL:
        score += 1
    return score


def inbox_order(
    *, nearest_deadline: datetime | None, hazardous: bool, urgent: bool, key_customer: bool, received_at: datetime
) -> tuple[bool, datetime | None, bool, bool, bool, datetime]:
    """The sort key of a unit's inbox: nearest running deadline first (none last), then hazardous, urgent and
    key-customer tickets ahead of the others, in that order, then the oldest."""
    return (
        nearest_deadline is None,
        nearest_deadline,
        not hazardous,
        not urgent,
        not key_customer,
        received_at,
    )
