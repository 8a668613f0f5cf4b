"""Issue 14 #1-2: personal data that a probe got back in clear from intake's views, errors and screen pop."""

from __future__ import annotations

import httpx
import pytest

from services.intake.bootstrap import Intake
from tests.unit.intake.conftest import AGENT, repair
from tests.unit.intake.test_customers import load

LEAKY_PHONES = (
    "139 8765 0033",
    "139-8765-0044",
    "+86 139 8765 0055",
    "07715558765",
    "(0771)5557654",
    "（0771）5551234",
    "１３９８７６５００６６",
)


async def _view(client: httpx.AsyncClient, body: dict[str, object]) -> dict[str, object]:
    created = await client.post("/api/v1/tickets", json=body, headers=AGENT)
    assert created.status_code == 201, created.text
    view = await client.get(f"/api/v1/tickets/{created.json()['ticket_id']}", headers=AGENT)
    assert view.status_code == 200
    return dict(view.json())


async def test_a_value_containing_a_star_is_not_taken_for_masked(client: httpx.AsyncClient, intake: Intake) -> None:
    body = repair(customer={"name": "*司马泄露", "phone": "13800138000", "address": "*南宁市青秀区民族大道100号3栋501"})
    view = await _view(client, body)
    text = str(view)
    assert "司马泄" not in text
    assert "民族大道100号" not in text
    customer = view["customer"]
    assert isinstance(customer, dict)
    assert customer["name"].endswith("露") and customer["name"].count("*") >= 4


@pytest.mark.parametrize("phone", LEAKY_PHONES)
async def test_phone_numbers_in_free_text_are_masked_however_written(
    client: httpx.AsyncClient, intake: Intake, phone: str
) -> None:
    view = await _view(client, repair(description=f"请回电 {phone} 谢谢"))
    digits = "".join(ch for ch in phone if ch.isdigit())
    shown = "".join(ch for ch in str(view["description"]) if ch.isdigit() or ch == "*")
    assert digits[-7:-3] not in shown.replace("*", ""), view["description"]


async def test_id_numbers_of_15_digits_and_email_addresses_in_free_text_are_masked(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    view = await _view(client, repair(description="身份证450102900101123，邮箱 zhang.wei@example.com"))
    assert "450102900101123" not in str(view["description"])
    assert "zhang.wei@" not in str(view["description"])
    assert "@example.com" in str(view["description"])


async def test_the_account_number_is_masked_in_the_ticket_view(client: httpx.AsyncClient, intake: Intake) -> None:
    view = await _view(client, repair(customer={**repair()["customer"], "account_number": "GAS-88776655"}))
    assert "88776655" not in str(view)
    customer = view["customer"]
    assert isinstance(customer, dict) and customer["account_number"].endswith("6655")


async def test_error_messages_do_not_echo_a_phone_number(client: httpx.AsyncClient, intake: Intake) -> None:
    missing = await client.get("/api/v1/tickets/13987650199", headers=AGENT)
    assert missing.status_code == 404
    assert "13987650199" not in missing.text
    elsewhere = await client.post("/api/v1/tickets", json=repair(branch="13987650198"), headers=AGENT)
    assert elsewhere.status_code in (403, 404, 422)
    assert "13987650198" not in elsewhere.text


async def test_the_screen_pop_shows_no_account_number_before_verification(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    await load(intake)
    pop = await client.get("/api/v1/customers/history", params={"phone": "13812345678"}, headers=AGENT)
    assert pop.status_code == 200
    [record] = pop.json()["customers"]
    assert record["account_number"] != "A-001" and "A-001" not in pop.text
