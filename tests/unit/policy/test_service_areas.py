"""Service areas of the routing rules: overlaps between units refused, rules that route nowhere refused."""

from __future__ import annotations

import pytest

from shared.policy.service_areas import AreaRule, check_rule, conflicts, overlap

ACTIVE = {"U-QINGXIU", "U-XINGNING", "U-INSTALL"}
QINGXIU = AreaRule("area-qingxiu", "U-QINGXIU", districts=frozenset({"青秀区"}))
FENGLING = AreaRule("community-fenglingbei", "U-XINGNING", communities=frozenset({"凤岭北社区"}))
MINZU = AreaRule("road-minzu", "U-QINGXIU", address_patterns=("*民族大道*",))
INSTALL = AreaRule(
    "install-works", "U-INSTALL", categories=frozenset({"service_request"}), subtypes=frozenset({"installation"})
)
DEMO = [QINGXIU, FENGLING, MINZU, INSTALL]


def test_a_district_another_unit_already_serves_is_refused_with_the_rule_it_overlaps() -> None:
    candidate = AreaRule("area-qingxiu-2", "U-XINGNING", districts=frozenset({"青秀区", "兴宁区"}))
    problem = check_rule(candidate, DEMO, ACTIVE)
    assert problem is not None
    assert problem.field == "districts"
    assert "area-qingxiu" in problem.message and "U-QINGXIU" in problem.message and "青秀区" in problem.message


def test_the_same_unit_may_widen_its_own_area_and_a_new_district_is_accepted() -> None:
    assert (
        check_rule(AreaRule("area-qingxiu", "U-QINGXIU", districts=frozenset({"青秀区", "邕宁区"})), DEMO, ACTIVE)
        is None
    )
    assert check_rule(AreaRule("area-yongning", "U-XINGNING", districts=frozenset({"邕宁区"})), DEMO, ACTIVE) is None


def test_a_narrower_area_inside_another_units_district_is_no_tie() -> None:
    # a community beats a district (routing's specificity): the border community stays with Xingning
    assert check_rule(AreaRule("c2", "U-XINGNING", communities=frozenset({"七星社区"})), DEMO, ACTIVE) is None
    # a category rule beats an area rule
    repair = AreaRule("repairs", "U-XINGNING", categories=frozenset({"repair"}), districts=frozenset({"青秀区"}))
    assert conflicts(repair, DEMO) == []


def test_the_same_community_for_two_units_is_refused() -> None:
    problem = check_rule(AreaRule("c3", "U-QINGXIU", communities=frozenset({"凤岭北社区"})), DEMO, ACTIVE)
    assert problem is not None and problem.field == "communities" and "community-fenglingbei" in problem.message


@pytest.mark.parametrize(
    ("patterns", "clash"),
    [(("*民族大道*",), True), (("*民族大道100号*",), True), (("*朝阳路*",), False)],
)
def test_address_patterns_overlap_when_one_provably_covers_the_other(patterns: tuple[str, ...], clash: bool) -> None:
    candidate = AreaRule("road-2", "U-XINGNING", address_patterns=patterns)
    assert bool(conflicts(candidate, DEMO)) is clash


def test_categories_that_never_meet_do_not_overlap() -> None:
    a = AreaRule("a", "U-1", categories=frozenset({"repair"}), districts=frozenset({"青秀区"}))
    b = AreaRule("b", "U-2", categories=frozenset({"complaint"}), districts=frozenset({"青秀区"}))
    c = AreaRule("c", "U-2", categories=frozenset({"repair", "complaint"}), districts=frozenset({"青秀区"}))
    assert not overlap(a, b)
    assert overlap(a, c)


def test_a_rule_whose_unit_cannot_receive_work_routes_nowhere() -> None:
    problem = check_rule(AreaRule("x", "U-CLOSED", districts=frozenset({"邕宁区"})), DEMO, ACTIVE)
    assert problem is not None and problem.field == "unit" and "route nowhere" in problem.message


def test_a_rule_is_read_from_the_admin_apis_form() -> None:
    rule = AreaRule.of(
        {"id": "r", "unit": "U-1", "districts": ["青秀区"], "categories": [], "address_patterns": ["*a*"]}
    )
    assert rule == AreaRule("r", "U-1", districts=frozenset({"青秀区"}), address_patterns=("*a*",))
