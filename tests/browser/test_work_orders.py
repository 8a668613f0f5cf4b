"""The new work order form: every category, the field errors beside their input, split requests, the alarm."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.steps import choose_category, eventually, fill, marker, mobile, sign_in, tickets_with
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")

QINGXIU_ADDRESS = "广西壮族自治区南宁市青秀区民族大道{}号"  # the story's marker in it: findable by address


async def _contract_fields(page: Page, text: str, phone: str) -> None:
    await fill(
        page,
        description=text,
        name="赵测试",
        phone=phone,
        address=QINGXIU_ADDRESS.format(text),
        district="青秀区",
    )


@pytest.mark.parametrize(
    "category",
    ["query", "consultation", "repair", "service_request", "complaint", "report", "opinion", "suggestion", "praise"],
)
async def test_an_agent_creates_a_work_order_of_each_category(
    page: Page, hotline: BrowserSystem, category: str
) -> None:
    await sign_in(page, hotline)
    await page.get_by_role("link", name="New work order").click()
    await choose_category(page, category)
    text, phone = marker(), mobile()
    await _contract_fields(page, text, phone)
    if category == "service_request":
        await page.get_by_label("Sub-type", exact=True).select_option("installation")
    if category == "complaint":
        await page.get_by_label("Place complained about").fill("民族大道小区")
        await page.get_by_label("Complaint type").fill("service_attitude")
    if category == "query":
        await page.get_by_label("Answer given").fill("本月账单已结清")
    await page.get_by_role("button", name="Create").click()

    banner = page.locator("#created-banner .ticket-number")
    await expect(banner).to_be_visible()
    shown = await banner.inner_text()
    made = await tickets_with(hotline, phone=phone)
    assert [t["ticket_number"] for t in made] == [shown]
    assert made[0]["category"] == category


async def test_a_bad_phone_shows_its_error_beside_phone_and_creates_nothing(page: Page, hotline: BrowserSystem) -> None:
    await sign_in(page, hotline)
    await page.get_by_role("link", name="New work order").click()
    await choose_category(page, "repair")
    text = marker()
    await _contract_fields(page, text, "12345")
    await page.get_by_role("button", name="Create").click()

    phone_field = page.locator("#field-phone")
    await expect(phone_field.locator(".error")).to_contain_text("not a valid")
    await expect(page.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#field-address .error")).to_have_count(0)
    # what the agent typed is kept; nothing was created
    await expect(page.get_by_label("Description")).to_have_value(text)
    assert await tickets_with(hotline, address=text) == []


async def test_requests_of_one_call_are_split_into_the_tickets_intake_creates(
    page: Page, hotline: BrowserSystem
) -> None:
    await sign_in(page, hotline)
    await page.get_by_role("link", name="New work order").click()
    await choose_category(page, "repair")
    phone = mobile()
    await _contract_fields(page, marker(), phone)
    await page.get_by_text("More requests on this call").click()
    # a complaint for the same unit (one ticket, dispatched as the complaint) and an installation elsewhere
    await page.get_by_label("Request 2: kind").select_option("complaint")
    await expect(page.get_by_label("Place complained about")).to_be_visible()
    await page.get_by_label("Place complained about").fill("民族大道小区")
    await page.get_by_label("Complaint type").fill("service_attitude")
    await page.get_by_label("Request 2: details").fill("上次维修人员态度差")
    await page.get_by_label("Request 3: kind").select_option("service_request")
    await page.get_by_label("Request 3: sub-type").select_option("installation")
    await page.get_by_label("Request 3: details").fill("新房报装燃气")
    await page.get_by_label("Request 3: unit").fill("U-XIXIANGTANG")
    await page.get_by_role("button", name="Preview the tickets of this call").click()

    preview = page.locator("#split-table tbody tr")
    await expect(preview).to_have_count(2)
    await expect(preview.nth(0)).to_contain_text("U-QINGXIU")
    await expect(preview.nth(0)).to_contain_text("Complaint")
    await expect(preview.nth(1)).to_contain_text("U-XIXIANGTANG")

    await page.get_by_role("button", name="Create").click()
    rows = page.locator("#created-tickets tbody tr")
    await expect(rows).to_have_count(2)
    made = await tickets_with(hotline, phone=phone)
    assert sorted((t["category"], t["unit_id"]) for t in made) == [
        ("complaint", "U-QINGXIU"),
        ("service_request", "U-XIXIANGTANG"),
    ]
    assert sorted(await rows.locator(".ticket-number").all_inner_texts()) == sorted(t["ticket_number"] for t in made)


async def test_the_alarm_form_gives_the_safety_script_and_the_unit_call_step(
    page: Page, hotline: BrowserSystem
) -> None:
    await sign_in(page, hotline)
    await page.get_by_role("link", name="New work order").click()
    await choose_category(page, "alarm")
    script = page.locator(".alarm .script li")
    await expect(script).to_have_count(4)
    await expect(script.first).to_contain_text("valve")
    phone = mobile()
    await _contract_fields(page, marker(), phone)
    await page.get_by_label("Description").fill("厨房燃气味很重")
    await page.get_by_role("button", name="Now").click()
    called_at = await page.get_by_label("Time the unit was called").input_value()
    assert len(called_at) == 5
    await page.get_by_role("button", name="Create").click()

    await expect(page.get_by_role("alert").filter(has_text="Gas alarm recorded")).to_contain_text("Urgent notice sent")
    await expect(page.locator("#unit-called")).to_contain_text(called_at)
    number = await page.locator(".banner .ticket-number").inner_text()
    made = await tickets_with(hotline, phone=phone)
    assert [(t["ticket_number"], t["category"]) for t in made] == [(number, "alarm")]
    # the unit was noticed at once (RULES.md §1 alarm): the urgent notice is on its topic
    await hotline.events.wait_for(made[0]["ticket_id"], "UrgentNoticeRequested")
    await eventually(lambda: tickets_with(hotline, phone=phone, status="dispatched"), what="alarm dispatched")


async def test_an_open_ticket_of_the_same_category_at_the_address_is_hinted(page: Page, hotline: BrowserSystem) -> None:
    address = QINGXIU_ADDRESS.format(marker())
    earlier = {"category": "repair", "customer": {"phone": mobile(), "address": address}, "description": "漏气"}
    answer = await hotline.api("agent.li", "intake", "POST", "/api/v1/tickets", json=earlier)
    assert answer.status_code == 201, answer.text
    await sign_in(page, hotline)
    await page.get_by_role("link", name="New work order").click()
    await choose_category(page, "repair")
    await page.get_by_label("Address").fill(address)
    await page.get_by_label("Address").press("Tab")
    await expect(page.locator("#duplicates")).to_contain_text(answer.json()["ticket_number"])
    # another category at the same address is no duplicate
    await choose_category(page, "consultation")
    await page.get_by_label("Address").fill(address)
    await page.get_by_label("Address").press("Tab")
    await page.wait_for_timeout(1000)
    await expect(page.locator("#duplicates")).to_have_count(0)
