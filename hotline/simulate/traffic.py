"""The traffic model: a seeded day of calls to a gas hotline and how each ticket's people will behave.

Pure data, no I/O: the same seed gives the same plan. The actors (`hotline.simulate.actors`) play
it through the public HTTP APIs; the report never reads it (it is computed from the topics).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from shared.policy.categories import Category, Subtype
from shared.policy.limits import callback_kind

BRANCH = "demo"

# The demo org (shared/config/orgs/demo.toml): district -> the unit its area rule routes to.
DISTRICT_UNITS: dict[str, str] = {"青秀区": "U-QINGXIU", "兴宁区": "U-XINGNING", "西乡塘区": "U-XIXIANGTANG"}
INSTALL_UNIT = "U-INSTALL"
UNITS: tuple[str, ...] = ("U-QINGXIU", "U-XINGNING", "U-XIXIANGTANG", INSTALL_UNIT)
UNIT_DIVISION: dict[str, str] = {
    "U-QINGXIU": "D-EAST",
    "U-XINGNING": "D-EAST",
    "U-XIXIANGTANG": "D-WEST",
    INSTALL_UNIT: "D-WEST",
}
# How often each unit replies after its deadline: one slow station makes the report worth reading.
UNIT_LATENESS: dict[str, float] = {"U-QINGXIU": 0.05, "U-XINGNING": 0.10, "U-XIXIANGTANG": 0.28, INSTALL_UNIT: 0.12}

ROADS: dict[str, tuple[str, ...]] = {
    "青秀区": ("民族大道", "七星路", "竹溪大道", "东葛路", "金湖路"),
    "兴宁区": ("朝阳路", "民生路", "兴宁路", "长堽路", "昆仑大道"),
    "西乡塘区": ("大学东路", "北湖路", "明秀路", "秀灵路", "友爱路"),
}
COMMUNITIES: dict[str, tuple[str, ...]] = {
    "青秀区": ("南湖社区", "金湖社区", "竹溪社区"),
    "兴宁区": ("朝阳社区", "民生社区", "长堽社区"),
    "西乡塘区": ("北湖社区", "明秀社区", "秀灵社区"),
}
# no area rule matches these: dispatch queues them for the center's manual dispatch
UNROUTABLE_ROADS = ("城郊新村", "开发区工业园", "高速服务区")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁宋郑谢韦蒙覃"
GIVEN = (*"伟芳娜敏静强磊军洋勇艳杰涛明超霞平刚", "桂英", "建国")

# A gas hotline's mix (per 100 calls): mostly consultations and repairs.
CATEGORY_MIX: tuple[tuple[Category, float], ...] = (
    (Category.CONSULTATION, 30),
    (Category.REPAIR, 24),
    (Category.SERVICE_REQUEST, 12),
    (Category.QUERY, 9),
    (Category.COMPLAINT, 9),
    (Category.ALARM, 3),
    (Category.PRAISE, 3),
    (Category.OPINION, 4),
    (Category.REPORT, 3),
    (Category.SUGGESTION, 3),
)
SUBTYPE_MIX: tuple[tuple[Subtype, float], ...] = (
    (Subtype.INSTALLATION, 35),
    (Subtype.ALTERATION, 20),
    (Subtype.CONVERSION, 15),
    (Subtype.SAFETY_INSPECTION, 30),
)
# the share of each category answered and closed on the call (RULES.md §1)
ON_CALL_SHARE: dict[Category, float] = {
    Category.QUERY: 1.0,
    Category.CONSULTATION: 0.45,
    Category.REPAIR: 0.12,
    Category.PRAISE: 0.4,
}
COMPLAINT_TYPES = ("service_attitude", "late_repair", "billing", "meter_reading", "construction_noise", "gas_pressure")
# calls per working hour, 08:00 .. 17:00 (a morning and an afternoon peak)
HOURLY_WEIGHTS: tuple[float, ...] = (1.0, 1.5, 1.6, 1.2, 0.6, 0.9, 1.4, 1.4, 1.1, 0.7)
DAY_START = timedelta(hours=8)

DESCRIPTIONS: dict[Category, tuple[str, ...]] = {
    Category.CONSULTATION: ("咨询燃气费缴纳方式", "咨询开户需要的材料", "咨询阶梯气价", "咨询过户流程"),
    Category.REPAIR: ("灶具打不着火", "燃气表不走字", "热水器点火困难", "表前阀漏气声"),
    Category.SERVICE_REQUEST: ("新房报装燃气", "厨房改造需拆改管道", "申请置换通气", "预约入户安检"),
    Category.COMPLAINT: ("维修人员态度差", "报修后迟迟无人上门", "账单金额有误", "抄表数据不准", "施工噪音扰民"),
    Category.ALARM: ("楼道内闻到明显燃气味", "厨房燃气泄漏报警器响", "小区管道井有气味"),
    Category.PRAISE: ("表扬维修师傅上门及时", "感谢工作人员耐心解答"),
    Category.OPINION: ("希望延长营业厅营业时间", "对收费方式有意见"),
    Category.REPORT: ("举报私接燃气管道", "举报非法倒卖液化气"),
    Category.SUGGESTION: ("建议开通微信缴费提醒", "建议增加安全用气宣传"),
    Category.QUERY: ("查询本月燃气费", "查询欠费情况"),
}


@dataclass(frozen=True)
class Caller:
    """Who calls: a made-up customer (names and numbers never belong to anyone)."""

    name: str
    phone: str
    address: str
    district: str | None  # None: an address no routing rule knows
    community: str | None


@dataclass(frozen=True)
class ComplaintPlan:
    """The complaint's subject and grading facts (RULES.md §4); `cluster` names the group it belongs to."""

    place: str
    complaint_type: str
    litigation: bool = False
    media_exposure: bool = False
    cluster: str | None = None


@dataclass(frozen=True)
class ReturnPlan:
    """The unit sends the ticket back (RULES.md §2, §15(三)); the center re-dispatches it or refuses."""

    after: timedelta
    reason: str
    center_refuses: bool
    redispatch_to: str


@dataclass(frozen=True)
class ExtensionPlan:
    """The unit asks for more time on `clock` halfway to its deadline; the center grants or denies it."""

    clock: str
    extra: timedelta
    granted: bool


@dataclass(frozen=True)
class UnitScript:
    """How the responsible unit works the ticket, relative to the deadlines it sees in its inbox."""

    accept_after: timedelta
    contact_fraction: float  # share of the contact clock's time used before contacting
    reply_fraction: float  # share of the resolve/handle clock's time used before replying
    late_by: timedelta | None = None  # reply this long after the deadline instead
    contact_late_by: timedelta | None = None
    returns: ReturnPlan | None = None
    extension: ExtensionPlan | None = None
    reply_rejected: bool = False  # the center sends the first reply back (incomplete)


@dataclass(frozen=True)
class CallbackScript:
    """What happens on each callback attempt, in order; the last one repeats if more are made."""

    outcomes: tuple[str, ...]
    satisfaction: int
    problem_solved: bool


@dataclass(frozen=True)
class PlannedCall:
    """One call: when it comes, what the agent records, and how the ticket's people will behave."""

    index: int
    at: timedelta  # since the simulated day's midnight (local)
    category: Category
    subtype: Subtype | None
    caller: Caller
    description: str
    unit_id: str  # the unit the ticket belongs to (routing or, for alarms, the agent's choice)
    on_call: bool = False  # answered and closed on the call
    complaint: ComplaintPlan | None = None
    callback_declined: bool = False
    manual_dispatch_after: timedelta | None = None  # unroutable: the center dispatches by hand
    unit: UnitScript = field(default_factory=lambda: UnitScript(timedelta(minutes=5), 0.3, 0.4))
    callback: CallbackScript = field(default_factory=lambda: CallbackScript(("reached",), 5, True))

    @property
    def owes_callback(self) -> bool:
        return not self.on_call and not self.callback_declined and callback_kind(self.category) is not None


@dataclass(frozen=True)
class TrafficPlan:
    seed: int
    calls: tuple[PlannedCall, ...]

    def by_category(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.calls:
            counts[call.category.value] = counts.get(call.category.value, 0) + 1
        return counts


Picked = TypeVar("Picked")


def _pick(rng: random.Random, weighted: Sequence[tuple[Picked, float]]) -> Picked:
    items = [item for item, _ in weighted]
    return rng.choices(items, weights=[weight for _, weight in weighted])[0]


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=round(rng.uniform(low, high), 1))


class _People:
    """Distinct made-up callers: a name and a mobile number nobody else in the plan has."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def caller(self, district: str | None = None, routable: bool = True) -> Caller:
        rng = self.rng
        while True:
            phone = f"139{rng.randrange(10**8):08d}"
            if phone not in self.used:
                self.used.add(phone)
                break
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if not routable:
            road = rng.choice(UNROUTABLE_ROADS)
            return Caller(name, phone, f"广西壮族自治区南宁市{road}{rng.randint(1, 99)}号", None, None)
        district = district or rng.choice(tuple(DISTRICT_UNITS))
        road = rng.choice(ROADS[district])
        community = rng.choice(COMMUNITIES[district])
        address = f"广西壮族自治区南宁市{district}{road}{rng.randint(1, 300)}号{rng.randint(1, 12)}栋"
        return Caller(name, phone, address, district, community)


def _arrivals(rng: random.Random, count: int) -> list[timedelta]:
    """`count` call times over one working day's hours, sorted."""
    hours = list(range(len(HOURLY_WEIGHTS)))
    times = [
        DAY_START + timedelta(hours=rng.choices(hours, weights=HOURLY_WEIGHTS)[0], seconds=rng.uniform(0, 3600))
        for _ in range(count)
    ]
    return sorted(timedelta(seconds=round(t.total_seconds())) for t in times)


def _unit_for(category: Category, subtype: Subtype | None, district: str | None) -> str:
    if category is Category.SERVICE_REQUEST and subtype is not Subtype.SAFETY_INSPECTION:
        return INSTALL_UNIT  # the demo org's "install-works" rule
    return DISTRICT_UNITS.get(district or "", "U-QINGXIU")


# clocks short enough for a late reply to land inside a simulated run of a few days
_LATE_CAPABLE = frozenset({Category.CONSULTATION, Category.COMPLAINT, Category.REPAIR, Category.SERVICE_REQUEST})


def _unit_script(rng: random.Random, category: Category, unit_id: str) -> UnitScript:
    late = category in _LATE_CAPABLE and rng.random() < UNIT_LATENESS[unit_id]
    returns = None
    extension = None
    rejected = rng.random() < 0.04
    roll = rng.random()
    if category is not Category.ALARM and roll < 0.06:
        others = [u for u in UNITS if u != unit_id and u != INSTALL_UNIT]
        returns = ReturnPlan(
            after=_minutes(rng, 3, 40),
            reason=rng.choice(("outside_duties", "wrong_or_missing_information", "customer_unreachable")),
            center_refuses=rng.random() < 0.3,
            redispatch_to=unit_id if rng.random() < 0.5 else rng.choice(others),
        )
    elif category in (Category.CONSULTATION, Category.COMPLAINT) and roll < 0.14:
        # RULES.md §2: asked before the deadline; the reply then comes after the original deadline
        clock = "handle" if category is Category.COMPLAINT else "resolve"
        extra = timedelta(hours=rng.choice((4, 8, 24)))
        extension = ExtensionPlan(clock=clock, extra=extra, granted=rng.random() < 0.6)
        late = True
    return UnitScript(
        accept_after=_minutes(rng, 1, 25),
        contact_fraction=rng.uniform(0.1, 0.7),
        reply_fraction=rng.uniform(0.15, 0.8),
        late_by=_minutes(rng, 10, 180) if late else None,
        contact_late_by=_minutes(rng, 5, 90) if category is Category.REPAIR and rng.random() < 0.1 else None,
        returns=returns,
        extension=extension,
        reply_rejected=rejected,
    )


def _callback_script(rng: random.Random) -> CallbackScript:
    satisfaction = rng.choices((5, 4, 3, 2, 1), weights=(50, 30, 12, 5, 3))[0]
    solved = rng.random() < (0.95 if satisfaction >= 3 else 0.4)
    failure = rng.choice(("no_answer", "busy", "switched_off"))
    roll = rng.random()
    if roll < 0.09:  # never reachable: three failures, then abandoned (RULES.md §5)
        outcomes: tuple[str, ...] = (failure, failure, failure)
    elif roll < 0.16:  # the reply does not match the facts: reopened, replied again, then reached
        outcomes = ("reply_mismatch", "reached")
    elif roll < 0.26:
        outcomes = (failure, "reached")
    elif roll < 0.30:
        outcomes = ("asked_another_time", "reached")
    else:
        outcomes = ("reached",)
    return CallbackScript(outcomes, satisfaction, solved)


def _complaints(rng: random.Random, count: int, people: _People) -> list[tuple[Caller, ComplaintPlan]]:
    """`count` complaints with clusters: 5+ complainants on one subject (level 2), litigation,
    media exposure and one customer's fifth complaint about the same matter (level 1), RULES.md §4."""
    out: list[tuple[Caller, ComplaintPlan]] = []

    def subject(tag: str) -> tuple[str, str, str]:
        district = rng.choice(tuple(DISTRICT_UNITS))
        return district, f"{rng.choice(COMMUNITIES[district])}{tag}", rng.choice(COMPLAINT_TYPES)

    level2_clusters = max(1, count // 14) if count >= 5 else 0
    for n in range(level2_clusters):
        if len(out) + 5 > count:
            break
        district, place, kind = subject(f"{n + 1}号楼")
        for _ in range(rng.randint(5, 6) if len(out) + 6 <= count else 5):
            out.append((people.caller(district), ComplaintPlan(place, kind, cluster=f"level2-{n + 1}")))
    if count - len(out) >= 1:
        district, place, kind = subject("燃气管网改造工地")
        out.append((people.caller(district), ComplaintPlan(place, kind, litigation=True, cluster="litigation")))
    if count >= 20 and count - len(out) >= 1:
        district, place, kind = subject("小区调压站")
        out.append((people.caller(district), ComplaintPlan(place, kind, media_exposure=True, cluster="media")))
    if count >= 30 and count - len(out) >= 5:
        district, place, kind = subject("商住楼")
        same = people.caller(district)
        out.extend((same, ComplaintPlan(place, kind, cluster="repeat-customer")) for _ in range(5))
    n = 0
    while len(out) < count:
        n += 1
        district, place, kind = subject(f"{rng.randint(1, 40)}栋{n}单元")
        out.append((people.caller(district), ComplaintPlan(place, kind)))
    return out


def plan_traffic(calls: int, seed: int) -> TrafficPlan:
    """A seeded day of `calls` calls; the same (calls, seed) always gives the same plan."""
    if calls < 1:
        raise ValueError("calls must be at least 1")
    rng = random.Random(seed)
    people = _People(rng)
    categories = [_pick(rng, CATEGORY_MIX) for _ in range(calls)]
    complaints = _complaints(rng, sum(1 for c in categories if c is Category.COMPLAINT), people)
    times = _arrivals(rng, calls)
    # complaints of one cluster come spread over the day, in the order planned
    complaint_iter = iter(complaints)
    planned: list[PlannedCall] = []
    for index, (at, category) in enumerate(zip(times, categories, strict=True)):
        subtype = _pick(rng, SUBTYPE_MIX) if category is Category.SERVICE_REQUEST else None
        complaint = None
        on_call = rng.random() < ON_CALL_SHARE.get(category, 0.0)
        routable = category is Category.ALARM or on_call or rng.random() >= 0.04
        if category is Category.COMPLAINT:
            caller, complaint = next(complaint_iter)
        else:
            caller = people.caller(routable=routable)
        unit_id = _unit_for(category, subtype, caller.district)
        manual = None
        if caller.district is None:
            unit_id = rng.choice(tuple(DISTRICT_UNITS.values()))
            manual = _minutes(rng, 2, 30)
        planned.append(
            PlannedCall(
                index=index,
                at=at,
                category=category,
                subtype=subtype,
                caller=caller,
                description=rng.choice(DESCRIPTIONS[category]),
                unit_id=unit_id,
                on_call=on_call,
                complaint=complaint,
                callback_declined=rng.random() < 0.05,
                manual_dispatch_after=manual,
                unit=_unit_script(rng, category, unit_id),
                callback=_callback_script(rng),
            )
        )
    return TrafficPlan(seed=seed, calls=tuple(planned))
