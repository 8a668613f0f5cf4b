"""The callback desk to closure: the due queue, claim, reveal with a reason, a failed attempt, "not before", the
survey with a new request raised on the call, the ticket closed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.steps import choose_category, eventually, fill, marker, mobile, sign_in, tickets_with
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _replied_repair(page: Page, hotline: BrowserSystem, phone: str) -> dict[str, Any]:
    """A repair (its callback is a survey, RULES.md §2) that the unit accepted, phoned about and replied to."""
    await page.get_by_role("link", name="New work order").click()
    await choose_category(page, "repair")
    await fill(
        page,
        description="热水器打不着火 " + marker(),
        name="孙测试",
        phone=phone,
        address="广西壮族自治区南宁市青秀区七星路2号",
        district="青秀区",
    )
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#created-banner")).to_be_visible()
    ticket_id = page.url.split("/tickets/")[1].split("?")[0]
    await hotline.events.wait_for(ticket_id, "TicketDispatched")

    async def unit(action: str, body: dict[str, Any] | None = None) -> bool:
        answer = await hotline.api(
            "handler.qingxiu", "dispatch", "POST", f"/api/v1/tickets/{ticket_id}/{action}", json=body
        )
        assert answer.status_code == 200, answer.text
        return True

    await eventually(lambda: unit("accept"), what="accept")
    await eventually(lambda: unit("contact", {"method": "phone", "note": "已电话联系用户"}), what="contact")
    await eventually(lambda: unit("reply", {"result": "已上门更换点火针", "opinion": ""}), what="reply")

    async def approve() -> bool:
        answer = await hotline.api(
            "center.zhou", "dispatch", "POST", f"/api/v1/tickets/{ticket_id}/review", json={"decision": "approve"}
        )
        assert answer.status_code == 200, answer.text
        return True

    await eventually(approve, what="the center approves the reply")
    return {"ticket_id": ticket_id, "number": await page.locator("#created-banner .ticket-number").inner_text()}


async def _row_in(page: Page, table: str, number: str) -> Any:
    async def shown() -> Any:
        await page.goto("/callbacks")
        row = page.locator(f"#{table} tbody tr", has_text=number)
        return row if await row.count() == 1 else None

    return await eventually(shown, within=120, what=f"{number} in {table}")


async def test_the_callback_desk_works_a_callback_to_closure(page: Page, hotline: BrowserSystem) -> None:
    await sign_in(page, hotline)
    phone = mobile()
    ticket = await _replied_repair(page, hotline, phone)

    row = await _row_in(page, "due-queue", ticket["number"])
    await expect(row).not_to_contain_text(phone)  # masked in the queue
    await row.get_by_role("button", name="Claim").click()
    await expect(page.locator("h1")).to_contain_text(ticket["number"])
    await expect(page.get_by_text("已上门更换点火针")).to_be_visible()

    await page.get_by_label("Reason to show the number (audited)").fill("回访拨号")
    await page.get_by_role("button", name="Reveal the number").click()
    await expect(page.locator(".facts")).to_contain_text(phone)

    await page.get_by_label("Outcome").select_option("no_answer")
    await page.get_by_role("button", name="Record the outcome").click()
    await expect(page.locator("#recorded")).to_contain_text("Callback attempted")
    await expect(page.locator("#attempts tbody tr")).to_have_count(1)
    await expect(page.locator("#attempts tbody tr").first).to_contain_text("No answer")

    # the next attempt waits 2 h (RULES.md §5): listed as not allowed yet, with its time
    later = await _row_in(page, "later-queue", ticket["number"])
    await expect(later).to_contain_text("not before")

    row = await _row_in(page, "due-queue", ticket["number"])
    await row.get_by_role("button", name="Claim").click()
    await page.get_by_label("Outcome").select_option("reached")
    await page.get_by_label("Problem solved?").select_option("yes")
    await page.get_by_label("Satisfaction (1–5)").select_option("5")
    await page.get_by_label("New request: kind").select_option("consultation")
    await page.get_by_label("New request: details").fill("顺便咨询：能否改抄表日")
    await page.keyboard.press("Control+Enter")
    await expect(page.locator("#recorded")).to_contain_text("Closed")
    await expect(page.locator("#attempts tbody tr")).to_have_count(2)

    closed = await hotline.events.wait_for(ticket["ticket_id"], "TicketClosed")
    assert closed.payload.reason == "callback_completed"

    async def new_ticket() -> list[dict[str, Any]]:
        return [t for t in await tickets_with(hotline, phone=phone) if t["ticket_id"] != ticket["ticket_id"]]

    raised = await eventually(new_ticket, what="the new request's ticket")
    assert raised[0]["category"] == "consultation"
