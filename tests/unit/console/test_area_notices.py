"""The area's notices as the console reads reporting's contract, and the caller's area the pop asks about."""

from __future__ import annotations

from services.console.area_notices import notices_of
from services.console.handlers.call_pop import caller_area


def test_the_contracts_notices_are_read_in_reportings_order() -> None:
    answer = {
        "branch": "demo",
        "notices": [
            {
                "notice_id": "n1",
                "kind": "planned_interruption",
                "district": "青秀区",
                "community": None,
                "category": None,
                "message": "12月2日 9:00-17:00 管网改造停气",
                "starts_at": "2026-12-02T09:00:00+08:00",
                "ends_at": "2026-12-02T17:00:00+08:00",
                "count": None,
            },
            {
                "notice_id": "n2",
                "kind": "hot_spot",
                "district": "青秀区",
                "community": "七星社区",
                "category": "repair",
                "message": "七星社区 2 小时内 5 起报修",
                "starts_at": "2026-12-01T13:00:00+08:00",
                "ends_at": None,
                "count": 5,
            },
            {"kind": "hot_spot"},  # not a notice of the contract: left out
        ],
    }
    notices = notices_of(answer)
    assert [(n.notice_id, n.kind, n.urgent) for n in notices] == [
        ("n1", "planned_interruption", False),
        ("n2", "hot_spot", True),
    ]
    assert notices[1].count == 5 and notices[1].community == "七星社区" and notices[1].ends_at is None
    assert notices_of({"error": {"message": "no"}}) == [] and notices_of(None) == []


def test_the_callers_area_is_that_of_the_latest_ticket_naming_one() -> None:
    views = [
        {"received_at": "2026-03-01T09:00:00+08:00", "location": {"district": "西乡塘区"}},
        {"received_at": "2026-03-09T09:00:00+08:00", "location": {"district": "青秀区", "community": "七星社区"}},
        {"received_at": "2026-03-10T09:00:00+08:00", "location": {}},
    ]
    assert caller_area(views) == ("青秀区", "七星社区")
    assert caller_area([]) == (None, None)
