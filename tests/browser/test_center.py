"""The center on a desktop: the review queue approves a reply and the ticket moves to the callback queue; a
return is corrected and re-dispatched and appears live in the other unit's inbox on its phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.steps import eventually
from tests.browser.system import BrowserSystem
from tests.browser.work_steps import dispatch_view, phone_context, repair, sign_in_as, unit_does

pytestmark = pytest.mark.asyncio(loop_scope="session")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"


async def test_the_center_approves_a_reply_and_the_ticket_moves_to_the_callback_queue(
    page: Page, hotline: BrowserSystem
) -> None:
    ticket = await repair(hotline)
    await unit_does(hotline, "handler.qingxiu", ticket["ticket_id"], "accept")
    await unit_does(hotline, "handler.qingxiu", ticket["ticket_id"], "contact", {"method": "phone"})
    await unit_does(hotline, "handler.qingxiu", ticket["ticket_id"], "reply", {"result": "已更换减压阀，试火正常"})

    await sign_in_as(page, hotline, "center.zhou")
    await page.get_by_role("link", name="Review queue").first.click()
    await page.wait_for_url("**/center/reviews")
    review = page.locator("article.review", has_text=ticket["number"])
    await expect(review).to_contain_text("已更换减压阀，试火正常")
    await expect(review.get_by_role("button", name="Reject")).to_be_visible()
    DOCS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(DOCS / "center-review-queue.png"), full_page=True)
    await review.get_by_role("button", name="Approve").click()
    await expect(page.locator("#saved")).to_contain_text("the ticket goes to the callback queue")
    await expect(page.locator("article.review", has_text=ticket["number"])).to_have_count(0)

    async def scheduled() -> bool:
        answer = await hotline.api(
            "agent.li", "callback", "GET", "/api/v1/callbacks", params={"ticket_id": ticket["ticket_id"]}
        )
        return answer.status_code == 200 and len(answer.json()) > 0

    await eventually(scheduled, within=60, what="the callback is scheduled")
    assert (await dispatch_view(hotline, "center.zhou", ticket["ticket_id"]))["status"] == "approved"


async def test_a_rejected_reply_goes_back_to_the_unit_with_the_reason(page: Page, hotline: BrowserSystem) -> None:
    ticket = await repair(hotline)
    await unit_does(hotline, "handler.qingxiu", ticket["ticket_id"], "accept")
    await unit_does(hotline, "handler.qingxiu", ticket["ticket_id"], "reply", {"result": "已处理"})
    await sign_in_as(page, hotline, "center.zhou")
    await page.goto("/center/reviews")
    review = page.locator("article.review", has_text=ticket["number"])
    await review.get_by_role("button", name="Reject").click()
    await review.get_by_label("What the unit must do").fill("请补充现场照片")
    await review.get_by_role("button", name="Send back to the unit").click()
    await expect(page.locator("#saved")).to_contain_text("back to the unit")
    view = await dispatch_view(hotline, "handler.qingxiu", ticket["ticket_id"])
    assert view["status"] == "accepted" and view["replies"][-1]["review_text"] == "请补充现场照片"


async def test_a_return_re_dispatched_appears_live_in_the_other_units_inbox(
    page: Page, chromium: Browser, hotline: BrowserSystem
) -> None:
    other = await phone_context(chromium, hotline)
    phone = await other.new_page()
    try:
        await sign_in_as(phone, hotline, "handler.xingning")
        ticket = await repair(hotline)
        await unit_does(
            hotline,
            "handler.qingxiu",
            ticket["ticket_id"],
            "return",
            {"reason": "outside_duties", "reason_text": "地址在兴宁区，非本站服务范围"},
        )
        await hotline.events.wait_for(ticket["ticket_id"], "TicketReturned")

        await sign_in_as(page, hotline, "center.zhou")
        await page.get_by_role("link", name="Returns").first.click()
        await page.wait_for_url("**/center/returns")
        item = page.locator("article.dispatch-item", has_text=ticket["number"])
        await expect(item).to_contain_text("地址在兴宁区", timeout=15_000)
        await expect(item.locator(".suggestion")).to_contain_text("U-QINGXIU")  # the rules' own suggestion
        await page.screenshot(path=str(DOCS / "center-returns.png"), full_page=True)
        await item.get_by_label("Dispatch to").select_option("U-XINGNING")
        await item.get_by_label("Correct the district").fill("兴宁区")
        await item.get_by_role("button", name="Dispatch", exact=True).click()
        await expect(page.locator("#saved")).to_contain_text("Dispatched")

        # no reload on the phone: the ticket arrives over its stream
        await expect(phone.locator("#inbox-list li", has_text=ticket["number"])).to_be_visible(timeout=20_000)
        view = await dispatch_view(hotline, "handler.xingning", ticket["ticket_id"])
        assert view["unit_id"] == "U-XINGNING" and view["status"] == "dispatched"
    finally:
        await other.close()


async def test_a_person_with_two_roles_lands_on_the_first_and_switches_to_the_other(
    page: Page, hotline: BrowserSystem
) -> None:
    await sign_in_as(page, hotline, "lead.chen")  # center supervisor first, hotline agent too
    await expect(page.get_by_role("link", name="Review queue").first).to_be_visible()
    await page.get_by_label("Act as").select_option("agent")
    await page.get_by_role("button", name="Switch role").click()
    await page.wait_for_url("**/home")
    await expect(page.get_by_role("link", name="New work order").first).to_be_visible()
    await expect(page.locator(".who")).to_contain_text("agent")
    await page.goto("/center")
    await expect(page.get_by_role("alert")).to_contain_text("for the center's supervisors")
    await page.get_by_role("link", name="Roles", exact=True).click()
    await page.get_by_label("Act as").select_option("center_supervisor")
    await page.get_by_role("button", name="Switch role").click()
    await page.wait_for_url("**/center")
