"""Customers: the CSV import and its report, the screen pop by phone (open tickets first), the account query."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app as cli
from services.intake.bootstrap import Intake
from services.intake.customer_import import import_customers
from services.intake.store import Customer
from shared.auth import Role
from tests.unit.intake.conftest import AGENT, NOW, repair, token

EXPORT = """account_number,name,phone,address,id_card_number,key_customer
A-001,张小明,13812345678;0771-5678678,南宁市青秀区民族大道100号3栋,11010519491231002X,no
A-002,南宁市第一人民医院,0771-2345678,南宁市七星路89号,,yes
A-003,,12345,,,
A-004,李四,13900139000,南宁市兴宁区,110105194912310021,
A-002,重复,13700137000,南宁市,,
"""


async def load(intake: Intake, text: str = EXPORT) -> None:
    async with intake.sessions() as session, session.begin():
        await import_customers(session, "demo", text, NOW)


async def test_the_import_keeps_good_rows_and_reports_each_bad_one(intake: Intake) -> None:
    async with intake.sessions() as session, session.begin():
        report = await import_customers(session, "demo", EXPORT, NOW)
    assert (report.created, report.updated) == (2, 0)
    assert {(r.line, r.account_number) for r in report.rejected} == {(4, "A-003"), (5, "A-004"), (6, "A-002")}
    by_line = {r.line: r.reasons for r in report.rejected}
    assert any("name is empty" in r for r in by_line[4]) and any("phone" in r for r in by_line[4])
    assert any("ID-card" in r for r in by_line[5])
    assert any("twice" in r for r in by_line[6])
    async with intake.sessions() as session, session.begin():
        again = await import_customers(session, "demo", EXPORT, NOW)
    assert (again.created, again.updated) == (0, 2)
    async with intake.sessions() as session:
        hospital = await session.scalar(select(Customer).where(Customer.account_number == "A-002"))
    assert hospital is not None and hospital.key_customer


def test_the_cli_imports_a_file_and_prints_the_rejected_rows(tmp_path: Path) -> None:
    export = tmp_path / "customers.csv"
    export.write_text(EXPORT, encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}"
    result = CliRunner().invoke(cli, ["customers", "import", str(export), "--branch", "demo", "--database-url", url])
    assert result.exit_code == 1, result.output
    assert "2 created, 0 updated, 3 rejected" in result.output
    assert "line 4 (A-003)" in result.output
    missing = tmp_path / "bad.csv"
    missing.write_text("account,name\n1,x\n", encoding="utf-8")
    bad = CliRunner().invoke(cli, ["customers", "import", str(missing), "--branch", "demo", "--database-url", url])
    assert bad.exit_code == 2


async def test_the_screen_pop_shows_the_customer_and_open_tickets_first(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    await load(intake)
    caller = {"name": "张小明", "phone": "0771-5678678", "address": "南宁市青秀区民族大道100号3栋"}
    answered = {"category": "query", "customer": {"phone": "07715678678"}, "first_contact_resolution": {"answer": "ok"}}
    closed = (await client.post("/api/v1/tickets", json=answered, headers=AGENT)).json()["ticket_id"]
    open_ = (await client.post("/api/v1/tickets", json=repair(customer=caller), headers=AGENT)).json()["ticket_id"]
    pop = (await client.get("/api/v1/customers/history", params={"phone": "0771 5678678"}, headers=AGENT)).json()
    # §14(一): no account number before the caller is verified, only its tail
    assert [c["account_number"] for c in pop["customers"]] == ["***01"]
    assert pop["customers"][0]["name"] == "张*明"
    assert [t["ticket_id"] for t in pop["tickets"]] == [open_, closed]
    assert pop["open_tickets"] == 1
    bad = await client.get("/api/v1/customers/history", params={"phone": "abc"}, headers=AGENT)
    assert bad.status_code == 422
    unit = token(Role.UNIT_HANDLER, unit="U-1")
    assert (
        await client.get("/api/v1/customers/history", params={"phone": "13812345678"}, headers=unit)
    ).status_code == 403


async def test_the_account_is_shown_only_after_identity_verification(client: httpx.AsyncClient, intake: Intake) -> None:
    await load(intake)
    async with intake.sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.account_number == "A-001"))
    assert customer is not None
    url = f"/api/v1/customers/{customer.customer_id}/account-query"
    answers = {
        "name": "张小明",
        "id_number": "11010519491231002x",
        "address": "南宁市青秀区民族大道100号3栋",
        "phone": "13812345678",
    }
    wrong = await client.post(url, json={**answers, "name": "张大明"}, headers=AGENT)
    assert wrong.status_code == 403 and "account_number" not in wrong.text
    incomplete = await client.post(url, json={"name": "张小明"}, headers=AGENT)
    assert incomplete.status_code == 422
    verified = await client.post(url, json=answers, headers=AGENT)
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["account_number"] == "A-001" and body["name"] == "张小明"
    assert set(body["phones"]) == {"13812345678", "07715678678"}
    elsewhere = token(Role.AGENT, branch="default")
    assert (await client.post(url, json=answers, headers=elsewhere)).status_code == 404
