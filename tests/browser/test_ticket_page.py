"""Search and the ticket page: the timeline and clocks update live when the unit acts through the dispatch API."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.steps import choose_category, eventually, fill, marker, mobile, sign_in
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _repair(page: Page, phone: str, text: str) -> str:
    await page.get_by_role("link", name="New work order").click()
    await choose_category(page, "repair")
    await fill(
        page,
        description="灶具打不着火",
        name="周测试",
        phone=phone,
        address=f"广西壮族自治区南宁市青秀区{text}路1号",
        district="青秀区",
    )
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#created-banner")).to_be_visible()
    return page.url.split("/tickets/")[1].split("?")[0]


async def test_the_ticket_page_updates_live_when_the_unit_accepts(page: Page, hotline: BrowserSystem) -> None:
    await sign_in(page, hotline)
    ticket_id = await _repair(page, mobile(), marker())
    await expect(page.locator("tr[data-clock=dispatch]")).to_be_visible()
    await hotline.events.wait_for(ticket_id, "TicketDispatched")
    await expect(page.locator("#timeline li[data-type=TicketDispatched]")).to_have_count(1)

    async def accept() -> bool:
        answer = await hotline.api("handler.qingxiu", "dispatch", "POST", f"/api/v1/tickets/{ticket_id}/accept")
        assert answer.status_code == 200, answer.text
        return True

    await eventually(accept, what="the unit accepts")
    # no reload: the event arrives over the page's stream
    await expect(page.locator("#timeline li[data-type=TicketAccepted]")).to_have_count(1)
    await expect(page.locator("#ticket-status")).to_have_text("Accepted")
    contact = page.locator("tr[data-clock=contact]")
    await expect(contact).to_contain_text("running")
    await expect(contact.locator(".countdown")).to_have_text(re.compile(r"^−?\d\d:\d\d:\d\d$"))


async def test_search_finds_tickets_by_number_phone_address_and_category(page: Page, hotline: BrowserSystem) -> None:
    await sign_in(page, hotline)
    phone, text = mobile(), marker()
    await _repair(page, phone, text)
    number = await page.locator("#created-banner .ticket-number").inner_text()

    await page.get_by_role("link", name="Search").click()
    await page.get_by_label("Ticket number").fill(number)
    await page.get_by_role("button", name="Search").click()
    results = page.locator("#results tbody tr")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text(number)

    for params in (f"phone={phone}", f"address={text}", f"address={text}&category=repair"):
        await page.goto(f"/search?{params}")
        await expect(results).to_have_count(1)
        await expect(results.first).to_contain_text(number)
        # the phone is masked in the list (RULES.md §6)
        await expect(results.first).not_to_contain_text(phone)
    await page.goto(f"/search?address={text}&category=complaint")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("No ticket matches")

    await page.goto("/search?phone=12")
    await expect(page.locator("#field-phone .error")).to_be_visible()
