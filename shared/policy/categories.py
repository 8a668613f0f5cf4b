"""Work-order categories, their sub-types, their rank and the splitting of one call's requests (RULES.md §1)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar


class PolicyError(ValueError):
    """A request the policy engine cannot answer; `argument` names the input at fault."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument
        self.message = message


class Category(StrEnum):
    """RULES.md §1: the categories of work order."""

    QUERY = "query"  # 信息查询
    CONSULTATION = "consultation"  # 业务咨询
    ALARM = "alarm"  # 报警
    REPAIR = "repair"  # 故障报修
    SERVICE_REQUEST = "service_request"  # 服务申请
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    OPINION = "opinion"  # 意见
    SUGGESTION = "suggestion"  # 建议
    PRAISE = "praise"  # 表扬


class Subtype(StrEnum):
    """RULES.md §1: sub-types of a service request (报装, 拆改, 置换通气, 安检)."""

    INSTALLATION = "installation"
    ALTERATION = "alteration"
    CONVERSION = "conversion"
    SAFETY_INSPECTION = "safety_inspection"


SUBTYPES: dict[Category, frozenset[Subtype]] = {
    Category.SERVICE_REQUEST: frozenset(Subtype),
}

CHINESE_NAMES: dict[Category, str] = {
    Category.QUERY: "信息查询",
    Category.CONSULTATION: "业务咨询",
    Category.ALARM: "报警",
    Category.REPAIR: "故障报修",
    Category.SERVICE_REQUEST: "服务申请",
    Category.COMPLAINT: "投诉",
    Category.REPORT: "举报",
    Category.OPINION: "意见",
    Category.SUGGESTION: "建议",
    Category.PRAISE: "表扬",
}

# RULES.md §1 policy default: the rank used when one call's requests form one ticket, highest first.
DEFAULT_RANK: tuple[Category, ...] = (
    Category.ALARM,
    Category.COMPLAINT,
    Category.REPAIR,
    Category.SERVICE_REQUEST,
    Category.REPORT,
    Category.OPINION,
    Category.SUGGESTION,
    Category.CONSULTATION,
    Category.QUERY,
    Category.PRAISE,
)


def parse_category(value: str) -> Category:
    """The category named `value`, or a PolicyError naming the accepted keys."""
    try:
        return Category(value.strip().lower())
    except ValueError:
        accepted = ", ".join(c.value for c in Category)
        raise PolicyError("--category", f"unknown category {value!r}; expected one of {accepted}") from None


def parse_subtype(category: Category, value: str | None) -> Subtype | None:
    """The sub-type `value` of `category` (None when not given), or a PolicyError."""
    if value is None:
        return None
    allowed = SUBTYPES.get(category, frozenset())
    if not allowed:
        raise PolicyError("--subtype", f"category {category.value!r} has no sub-types (got {value!r})")
    try:
        subtype = Subtype(value.strip().lower())
    except ValueError:
        subtype = None
    if subtype is None or subtype not in allowed:
        accepted = ", ".join(sorted(s.value for s in allowed))
        raise PolicyError("--subtype", f"unknown sub-type {value!r} for {category.value!r}; expected one of {accepted}")
    return subtype


def highest_ranked(categories: Iterable[Category], rank: Sequence[Category] = DEFAULT_RANK) -> Category:
    """RULES.md §1 (§15(一)3): the category a multi-request ticket is dispatched under."""
    order = {category: position for position, category in enumerate(rank)}
    chosen = min(categories, key=lambda c: order.get(c, len(order)), default=None)
    if chosen is None:
        raise PolicyError("requests", "a ticket needs at least one request")
    return chosen


UnitKey = TypeVar("UnitKey", bound=Hashable)


@dataclass(frozen=True)
class Request(Generic[UnitKey]):
    """One request raised on a call, with the unit responsible for it (None while unrouted)."""

    category: Category
    unit: UnitKey | None
    subtype: Subtype | None = None
    description: str = ""


@dataclass(frozen=True)
class TicketPlan(Generic[UnitKey]):
    """One ticket to create for a call: its unit, the category it is dispatched under, its requests."""

    unit: UnitKey | None
    category: Category
    requests: tuple[Request[UnitKey], ...]


def split_requests(
    requests: Sequence[Request[UnitKey]], rank: Sequence[Category] = DEFAULT_RANK
) -> list[TicketPlan[UnitKey]]:
    """RULES.md §1 (§15(一)3): one ticket per responsible unit, under its highest-ranked category.

    Requests whose unit is not known yet form one ticket together, left for dispatch to route.
    Tickets come out in the order their unit first appears on the call.
    """
    if not requests:
        raise PolicyError("requests", "a call needs at least one request to form a ticket")
    groups: dict[UnitKey | None, list[Request[UnitKey]]] = {}
    for request in requests:
        groups.setdefault(request.unit, []).append(request)
    return [
        TicketPlan(unit=unit, category=highest_ranked((r.category for r in group), rank), requests=tuple(group))
        for unit, group in groups.items()
    ]
