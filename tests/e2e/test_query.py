"""Story: an account query answered on the call, only after the caller's identity was verified (RULES.md §1, §6)."""

from __future__ import annotations

import pytest

from tests.e2e.harness import System
from tests.e2e.steps import Hotline, ok

# a demo customer (shared/config/demo/customers.csv), loaded by `hotline customers import`
PHONE = "13800001001"
IDENTITY = {
    "name": "张伟",
    "id_number": "450103199001011238",
    "address": "广西壮族自治区南宁市青秀区民族大道100号3栋2单元501",
    "phone": PHONE,
}


@pytest.mark.asyncio(loop_scope="session")
async def test_a_query_is_answered_on_the_call_after_identity_verification(system: System) -> None:
    desk = Hotline(system)
    pop = ok(await desk.agent.get("/api/v1/customers/history", params={"phone": PHONE}))
    [record] = pop["customers"]
    assert record["name"] != "张伟", "the screen pop masks the name until the caller is verified"
    account_query = f"/api/v1/customers/{record['customer_id']}/account-query"

    wrong = await desk.agent.post(account_query, json={**IDENTITY, "id_number": "450103198001011241"})
    assert wrong.status_code == 403
    assert "NN-0001001" not in wrong.text

    account = ok(await desk.agent.post(account_query, json=IDENTITY))
    assert account["account_number"] == "NN-0001001"
    assert account["name"] == "张伟"

    created = await desk.create(
        {
            "category": "query",
            "customer": {"customer_id": record["customer_id"], "phone": PHONE},
            "description": "本月燃气费是多少",
            "first_contact_resolution": {"answer": "本月燃气费86.40元，已告知用户", "knowledge_article_id": "KB-BILL"},
        }
    )
    ticket_id = created["ticket_id"]
    assert created["status"] == "resolved_on_call"

    resolved = await desk.events.wait_for(ticket_id, "TicketResolvedOnFirstContact")
    assert resolved.payload.knowledge_article_id == "KB-BILL"
    view = await desk.view(ticket_id)
    assert view["closed_at"] is not None
    assert view["resolution"]["answer"].startswith("本月燃气费")
    # nobody is sent out for a query, and no callback is owed (RULES.md §2)
    assert "TicketDispatched" not in desk.events.types(ticket_id)
    assert ok(await desk.callbacks.get("/api/v1/callbacks", params={"ticket_id": ticket_id})) == []
