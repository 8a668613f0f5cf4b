"""Categories, sub-types, rank and the splitting of one call's requests (RULES.md §1)."""

from __future__ import annotations

import pytest

from shared.policy.categories import (
    DEFAULT_RANK,
    Category,
    PolicyError,
    Request,
    Subtype,
    highest_ranked,
    parse_category,
    parse_subtype,
    split_requests,
)

pytestmark = pytest.mark.unit
C = Category


def test_rank_lists_every_category_once() -> None:
    assert sorted(DEFAULT_RANK) == sorted(Category) and len(DEFAULT_RANK) == len(Category)


def test_one_unit_several_categories_is_one_ticket_under_the_highest() -> None:
    plans = split_requests([Request(C.CONSULTATION, "u1"), Request(C.COMPLAINT, "u1"), Request(C.REPAIR, "u1")])
    assert len(plans) == 1 and plans[0].category is C.COMPLAINT and len(plans[0].requests) == 3


def test_different_units_make_one_ticket_each_in_call_order() -> None:
    plans = split_requests([Request(C.REPAIR, "u2"), Request(C.ALARM, "u1"), Request(C.PRAISE, "u2")])
    assert [(p.unit, p.category) for p in plans] == [("u2", C.REPAIR), ("u1", C.ALARM)]


def test_unrouted_requests_stay_together_for_dispatch() -> None:
    plans = split_requests([Request(C.OPINION, None), Request(C.SUGGESTION, None)])
    assert [(p.unit, p.category) for p in plans] == [(None, C.OPINION)]


def test_a_branch_rank_changes_the_choice() -> None:
    rank = (C.PRAISE, *[c for c in DEFAULT_RANK if c is not C.PRAISE])
    assert highest_ranked([C.ALARM, C.PRAISE], rank) is C.PRAISE


def test_no_requests_is_an_error() -> None:
    with pytest.raises(PolicyError):
        split_requests([])


def test_parsing_names_the_bad_argument() -> None:
    assert parse_category(" Repair ") is C.REPAIR
    assert parse_subtype(C.SERVICE_REQUEST, "installation") is Subtype.INSTALLATION
    assert parse_subtype(C.REPAIR, None) is None
    for call, argument in [
        (lambda: parse_category("gas"), "--category"),
        (lambda: parse_subtype(C.REPAIR, "installation"), "--subtype"),
        (lambda: parse_subtype(C.SERVICE_REQUEST, "demolition"), "--subtype"),
    ]:
        with pytest.raises(PolicyError) as raised:
            call()
        assert raised.value.argument == argument
