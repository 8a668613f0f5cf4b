"""Routing from tables: area rules, category rules, the agent's choice, ambiguity and no match → manual queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.dispatch.routing import (
    AGENT_SELECTED_RULE,
    Division,
    OrgConfigError,
    OrgTree,
    RoutingInput,
    RoutingRule,
    Unit,
    load_org_file,
    org_file_for,
    org_from_mapping,
    route,
)
from shared.policy.categories import Category, Subtype

REPO = Path(__file__).resolve().parents[3]
DEMO = load_org_file(REPO / "shared" / "config" / "orgs" / "demo.toml")

C, S = Category, Subtype


@pytest.mark.parametrize(
    ("ticket", "unit", "rule"),
    [
        # area rules: district
        (RoutingInput(C.REPAIR, district="青秀区"), "U-QINGXIU", "area-qingxiu"),
        (RoutingInput(C.REPAIR, district="兴宁区"), "U-XINGNING", "area-xingning"),
        (RoutingInput(C.COMPLAINT, district="西乡塘区"), "U-XIXIANGTANG", "area-xixiangtang"),
        # a community beats its district
        (RoutingInput(C.REPAIR, district="青秀区", community="凤岭北社区"), "U-XINGNING", "community-fenglingbei"),
        # an address pattern beats a district
        (RoutingInput(C.REPAIR, district="兴宁区", address="南宁市民族大道100号"), "U-QINGXIU", "road-minzu"),
        # category rules beat area rules: installations go to the installation unit anywhere
        (RoutingInput(C.SERVICE_REQUEST, S.INSTALLATION, district="青秀区"), "U-INSTALL", "install-works"),
        (RoutingInput(C.SERVICE_REQUEST, S.CONVERSION, community="凤岭北社区"), "U-INSTALL", "install-works"),
        # a safety inspection is not an installation work: it goes by area
        (RoutingInput(C.SERVICE_REQUEST, S.SAFETY_INSPECTION, district="兴宁区"), "U-XINGNING", "area-xingning"),
        # the agent's choice wins when the unit exists
        (
            RoutingInput(C.ALARM, district="青秀区", selected_unit_id="U-XIXIANGTANG"),
            "U-XIXIANGTANG",
            AGENT_SELECTED_RULE,
        ),
        # an unknown chosen unit falls back to the rules
        (RoutingInput(C.ALARM, district="青秀区", selected_unit_id="U-NOPE"), "U-QINGXIU", "area-qingxiu"),
    ],
)
def test_rules_decide(ticket: RoutingInput, unit: str, rule: str) -> None:
    decision = route(ticket, DEMO)
    assert (decision.unit_id, decision.rule_id) == (unit, rule)
    assert decision.division_id == DEMO.units[unit].division_id


@pytest.mark.parametrize(
    "ticket",
    [
        RoutingInput(C.REPAIR, district="江南区"),  # no rule for this district
        RoutingInput(C.REPAIR),  # no place at all
        RoutingInput(C.CONSULTATION, address="江南区星光大道"),
        RoutingInput(C.REPAIR, district="江南区", selected_unit_id="U-NOPE"),
    ],
)
def test_unroutable_is_never_guessed(ticket: RoutingInput) -> None:
    decision = route(ticket, DEMO)
    assert decision.unit_id is None and decision.unroutable == "no_matching_rule"


def _org(*rules: RoutingRule, inactive: frozenset[str] = frozenset()) -> OrgTree:
    units = {u: Unit(u, u, "D1", active=u not in inactive) for u in ("A", "B")}
    return OrgTree("t", "C", "center", {"D1": Division("D1", "d1")}, units, rules)


def test_equal_rules_naming_different_units_are_ambiguous() -> None:
    org = _org(RoutingRule("r1", "A", districts=("X",)), RoutingRule("r2", "B", districts=("X",)))
    decision = route(RoutingInput(C.REPAIR, district="X"), org)
    assert decision.unroutable == "ambiguous_rules"
    assert decision.candidates == ("A", "B")


def test_equal_rules_naming_the_same_unit_decide() -> None:
    org = _org(RoutingRule("r1", "A", districts=("X",)), RoutingRule("r2", "A", address_patterns=("*",)))
    assert route(RoutingInput(C.REPAIR, district="X", address="y"), org).rule_id == "r2"


def test_inactive_units_are_not_routed_to() -> None:
    org = _org(RoutingRule("r1", "A", districts=("X",)), inactive=frozenset({"A"}))
    assert route(RoutingInput(C.REPAIR, district="X"), org).unroutable == "no_matching_rule"
    assert route(RoutingInput(C.REPAIR, district="X", selected_unit_id="A"), org).unit_id is None


def test_a_catch_all_rule_is_refused() -> None:
    with pytest.raises(OrgConfigError, match="at least one criterion"):
        RoutingRule("all", "A")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "center.id"),
        ({"center": {"id": "C"}, "units": [{"id": "U", "division": "nope"}]}, "units.U.division"),
        (
            {
                "center": {"id": "C"},
                "divisions": [{"id": "D"}],
                "units": [{"id": "U", "division": "D"}],
                "rules": [{"id": "r", "unit": "U", "categories": ["gas"]}],
            },
            "rules.r.categories",
        ),
        (
            {
                "center": {"id": "C"},
                "divisions": [{"id": "D"}],
                "units": [{"id": "U", "division": "D"}],
                "rules": [{"id": "r", "unit": "V", "districts": ["x"]}],
            },
            "rules.r.unit",
        ),
    ],
)
def test_org_files_are_checked_field_by_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(OrgConfigError) as caught:
        org_from_mapping("t", data)
    assert caught.value.field == field


def test_packaged_org_files_exist_for_default_and_demo() -> None:
    for branch in ("default", "demo"):
        path = org_file_for(branch)
        assert path is not None
        org = load_org_file(path)
        assert len(org.divisions) == 2 and len(org.units) == 4 and org.rules
