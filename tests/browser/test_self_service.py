"""A customer on a phone (issue 21 part 3): signs in with the SMS code that reached Kannel's fake SMSC, raises a
repair that intake takes as channel `web`, sees it dispatched, and rates it once the callback has closed it; in
Chinese by default and in English, by keyboard, with every error beside its input."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Browser, BrowserContext, FilePayload, Page, expect

from tests.browser.steps import eventually, marker, mobile, tickets_with
from tests.browser.system import BrowserSystem
from tests.browser.work_steps import phone_context, sign_in_as, unit_does

pytestmark = pytest.mark.asyncio(loop_scope="session")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
CODE = re.compile(r"验证码是(\d{6})")


def _stove_photo() -> bytes:
    """A phone photo of a stove: small enough for the 5 MB limit, a picture a person recognises as one."""
    image = Image.new("RGB", (800, 600), (236, 232, 224))
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 260, 680, 470), fill=(60, 60, 66))
    for x in (260, 540):
        draw.ellipse((x - 90, 280, x + 90, 440), outline=(180, 180, 186), width=14)
        draw.ellipse((x - 30, 330, x + 30, 390), fill=(30, 90, 210))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def _unit_sees_the_photo(chromium: Browser, hotline: BrowserSystem, ticket_id: str) -> None:
    """The dispatched unit's handler opens the ticket on their phone: the customer's photo is there, and loads;
    the center sees it on its ticket page."""
    ctx = await phone_context(chromium, hotline)
    page = await ctx.new_page()
    try:
        await sign_in_as(page, hotline, "handler.qingxiu")
        await page.goto(f"/unit/tickets/{ticket_id}")
        photo = page.get_by_role("img", name=re.compile("灶台.jpg"))
        await expect(photo).to_be_visible()
        await expect(page.get_by_role("heading", name="Customer's photos")).to_be_visible()
        await photo.scroll_into_view_if_needed()
        loaded = "img => img.complete && img.naturalWidth === 800"  # the picture itself, not a broken image
        await page.wait_for_function(loaded, arg=await photo.element_handle())
        await page.screenshot(path=str(SHOTS / "self-service-photo-unit-en.png"), full_page=True)
    finally:
        await ctx.close()
    center = await chromium.new_context(base_url=hotline.console_url, locale="en-US")
    page = await center.new_page()
    try:  # the center sees it on the ticket page too
        await sign_in_as(page, hotline, "center.zhou")
        await page.goto(f"/tickets/{ticket_id}")
        await expect(page.get_by_role("img", name=re.compile("灶台.jpg"))).to_be_visible()
    finally:
        await center.close()


async def _center_sees_the_rating(chromium: Browser, hotline: BrowserSystem) -> None:
    """Reporting counts the customer's rating (ServiceRated) in its own column of the figures, apart from the
    callback survey's (which said 5 on the phone)."""
    ctx = await chromium.new_context(
        base_url=hotline.console_url, locale="en-US", viewport={"width": 1600, "height": 900}
    )
    page = await ctx.new_page()
    try:
        await sign_in_as(page, hotline, "center.zhou")

        async def counted() -> bool:
            await page.goto("/reporting/figures")
            return await page.locator("td[data-figure='customer_rating_average']", has_text="4.0 (1)").count() == 1

        await eventually(counted, what="the figures count the customer's rating")
        row = page.locator("tr", has=page.locator("td[data-figure='customer_rating_average']", has_text="4.0 (1)"))
        # the callback survey's own figure and count (the other stories' surveys count there too), beside it
        await expect(row).to_contain_text(re.compile(r"\d(\.\d+)? \(\d+\)\s*4\.0 \(1\)"))
        cell = row.locator("td[data-figure='customer_rating_average']")
        await cell.scroll_into_view_if_needed()  # the wide table scrolls sideways to the two satisfaction columns
        await expect(cell).to_be_in_viewport()
        await (
            page.locator("#figures")
            .locator("xpath=..")
            .screenshot(path=str(SHOTS / "reporting-figures-self-service-en.png"))
        )
    finally:
        await ctx.close()


async def _customer_phone(chromium: Browser, hotline: BrowserSystem) -> BrowserContext:
    """A customer's own phone: 390×844, touch, Chinese."""
    return await phone_context(chromium, hotline, locale="zh-CN")


async def _code_sent_to(hotline: BrowserSystem, phone: str, before: int) -> str:
    assert hotline.kannel is not None

    async def arrived() -> str | None:
        for sms in hotline.kannel.received()[before:] if hotline.kannel else []:
            found = CODE.search(sms.text)
            if sms.to == f"+86{phone}" and found:
                return found.group(1)
        return None

    # a loaded machine's SMS sender may take a while: wait for the code as the customer waits for the SMS
    return await eventually(arrived, within=90, what="the code reaches Kannel's fake SMSC")


async def _sign_in(page: Page, hotline: BrowserSystem, phone: str) -> None:
    assert hotline.kannel is not None
    await page.goto("/self-service")
    await expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
    await page.get_by_label("手机号码").fill("12345")
    await page.get_by_label("手机号码").press("Enter")  # keyboard only
    await expect(page.locator("#phone-error")).to_have_text("请输入手机号码，例如 13800001001")
    await expect(page.get_by_label("手机号码")).to_have_attribute("aria-invalid", "true")
    before = len(hotline.kannel.received())
    await page.get_by_label("手机号码").fill(phone)
    await page.get_by_role("button", name="获取验证码").click()
    await expect(page.locator("#sent-to")).to_contain_text(f"{phone[:3]}****{phone[-4:]}")
    code = await _code_sent_to(hotline, phone, before)
    wrong = "000000" if code != "000000" else "111111"
    await page.get_by_label("短信验证码").fill(wrong)
    await page.get_by_role("button", name="登录", exact=True).click()
    await expect(page.locator("#code-error")).to_have_text("验证码不正确，还可尝试 4 次")
    await page.get_by_label("短信验证码").fill(code)
    await page.get_by_label("短信验证码").press("Enter")
    await page.wait_for_url("**/self-service/tickets")


async def _try_code(page: Page, code: str, said: str) -> None:
    """One try of a code, then what the answer page says: the page that answered it shows an empty code field
    (the code is never written back), so an earlier page's same message is never taken for this answer."""
    field = page.get_by_label("短信验证码")
    await field.fill(code)
    await expect(field).to_have_value(code)
    await field.press("Enter")
    await expect(field).to_have_value("")  # the answer page, not the one the code was typed on
    await expect(page.locator("#code-error")).to_have_text(said)


async def _close_by_callback(hotline: BrowserSystem, ticket_id: str) -> None:
    """The unit replies, the center approves, the callback desk reaches the customer: the ticket closes."""
    await unit_does(hotline, "handler.qingxiu", ticket_id, "accept")
    await unit_does(hotline, "handler.qingxiu", ticket_id, "contact", {"method": "phone", "note": "已电话联系"})
    await unit_does(hotline, "handler.qingxiu", ticket_id, "reply", {"result": "已更换点火针", "opinion": ""})
    await unit_does(hotline, "center.zhou", ticket_id, "review", {"decision": "approve"})

    async def callback_id() -> str | None:
        answer = await hotline.api("agent.li", "callback", "GET", "/api/v1/callbacks", params={"ticket_id": ticket_id})
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return str(rows[0]["callback_id"]) if rows else None

    found = await eventually(callback_id, what="the callback is scheduled")

    async def reached() -> bool:
        claimed = await hotline.api("agent.li", "callback", "POST", f"/api/v1/callbacks/{found}/claim")
        assert claimed.status_code == 200, claimed.text
        outcome = {"outcome": "reached", "problem_solved": True, "satisfaction": 5}
        done = await hotline.api("agent.li", "callback", "POST", f"/api/v1/callbacks/{found}/outcome", json=outcome)
        assert done.status_code == 200, done.text
        return True

    # the callback may wait for the quiet window's end (RULES.md §5): 11 simulated hours are 330 s at 120x
    await eventually(reached, within=420, what="the callback reaches the customer")
    await hotline.events.wait_for(ticket_id, "TicketClosed")


async def test_a_customer_signs_in_by_sms_code_raises_a_repair_sees_it_dispatched_and_rates_it(
    chromium: Browser, hotline: BrowserSystem
) -> None:
    ctx = await _customer_phone(chromium, hotline)
    page = await ctx.new_page()
    phone = mobile()
    try:
        await _sign_in(page, hotline, phone)
        await page.screenshot(path=str(SHOTS / "self-service-tickets-zh.png"), full_page=True)
        await page.get_by_role("link", name="提交报修或诉求").click()
        await page.get_by_label("故障报修").check()
        await page.get_by_role("button", name="提交诉求").click()  # nothing filled in
        await expect(page.locator("#description-error")).to_have_text("请描述发生了什么或您的需求")
        await expect(page.locator("#address-error")).to_be_visible()
        await expect(page.locator(".error-summary a[href='#address']")).to_be_visible()
        await page.screenshot(path=str(SHOTS / "self-service-errors-zh.png"), full_page=True)
        words = f"灶具打不着火 {marker()}"
        await page.get_by_label("发生了什么，或您需要什么？").fill(words)
        await page.get_by_label("地址").fill("广西壮族自治区南宁市青秀区七星路8号")
        await page.get_by_label("区县").fill("青秀区")
        photo: FilePayload = {"name": "灶台.jpg", "mimeType": "image/jpeg", "buffer": _stove_photo()}
        # a file that only claims to be a photo is refused beside the field, and nothing is sent
        fake: FilePayload = {"name": "假照片.jpg", "mimeType": "image/jpeg", "buffer": b"this is text, not a picture"}
        await page.get_by_label("照片（可不填）").set_input_files([photo, fake])
        await page.get_by_role("button", name="提交诉求").click()
        await expect(page.locator("#photos-error")).to_have_text("假照片.jpg 不是照片（请选 JPEG、PNG 或 WebP）")
        await expect(page.get_by_label("地址")).to_have_value("广西壮族自治区南宁市青秀区七星路8号")  # kept
        assert await tickets_with(hotline, phone=phone) == []
        await page.screenshot(path=str(SHOTS / "self-service-photo-refused-zh.png"), full_page=True)
        # a fresh form, filled in with the photo alone (the customer's second go)
        await page.get_by_role("link", name="返回我的诉求").click()
        await page.get_by_role("link", name="提交报修或诉求").click()
        await page.get_by_label("故障报修").check()
        await page.get_by_label("发生了什么，或您需要什么？").fill(words)
        await page.get_by_label("地址").fill("广西壮族自治区南宁市青秀区七星路8号")
        await page.get_by_label("区县").fill("青秀区")
        await page.get_by_label("照片（可不填）").set_input_files([photo])
        await expect(page.locator(".error-summary")).to_have_count(0)
        await page.screenshot(path=str(SHOTS / "self-service-photo-zh.png"), full_page=True)
        await page.get_by_role("button", name="提交诉求").click()
        await expect(page.get_by_role("status")).to_contain_text("您的诉求已受理")
        number = page.url.split("/self-service/tickets/")[1].split("?")[0]

        # intake took it as a web request with the verified phone, graded and routed as an agent's
        created = await tickets_with(hotline, number=number)
        assert [(t["channel"], t["category"]) for t in created] == [("web", "repair")], created
        ticket_id = created[0]["ticket_id"]

        async def dispatched() -> bool:
            await page.reload()
            return await page.locator("#status").inner_text() == "已派至责任单位"

        await eventually(dispatched, what="the customer sees the ticket dispatched")
        await expect(page.locator(".customer-steps li[data-step='dispatched']")).to_be_visible()
        assert phone not in await page.content()  # the page never shows a number in full
        await page.screenshot(path=str(SHOTS / "self-service-ticket-zh.png"), full_page=True)
        await _unit_sees_the_photo(chromium, hotline, ticket_id)

        await _close_by_callback(hotline, ticket_id)

        async def ratable() -> bool:
            await page.reload()
            return await page.get_by_role("button", name="提交评价").count() == 1

        await eventually(ratable, what="the closed ticket can be rated")
        await page.get_by_label("语言").select_option("en")
        await page.get_by_role("button", name="切换").click()
        await expect(page.get_by_role("heading", name=re.compile(number))).to_be_visible()
        await expect(page.locator("#status")).to_have_text("Closed")
        await page.get_by_role("button", name="Send my rating").click()  # no rating chosen
        await expect(page.locator("#rating-error")).to_have_text("Choose how satisfied you are, from 1 to 5")
        await page.screenshot(path=str(SHOTS / "self-service-rate-en.png"), full_page=True)
        await page.get_by_label("4 · Satisfied").check()
        await page.get_by_label("Anything you want to add (optional)").fill("准时上门")
        await page.get_by_role("button", name="Send my rating").click()
        await expect(page.locator("#your-rating")).to_contain_text("4 of 5")
        await hotline.events.wait_for(ticket_id, "ServiceRated")
        await _center_sees_the_rating(chromium, hotline)

        # only their own: another number is as unknown as a wrong one
        await page.goto("/self-service/tickets")
        await page.get_by_label("Find a ticket by its number").fill("GX-20000101-000001")
        await page.get_by_role("button", name="Find").click()
        await expect(page.locator("#number-error")).to_have_text("No ticket of yours has this number")
        await page.screenshot(path=str(SHOTS / "self-service-tickets-en.png"), full_page=True)
    finally:
        await ctx.close()


async def test_a_wrong_code_five_times_locks_it(chromium: Browser, hotline: BrowserSystem) -> None:
    assert hotline.kannel is not None
    ctx = await _customer_phone(chromium, hotline)
    page = await ctx.new_page()
    phone = mobile()
    try:
        await page.goto("/self-service")
        before = len(hotline.kannel.received())
        await page.get_by_label("手机号码").fill(phone)
        await page.get_by_role("button", name="获取验证码").click()
        await expect(page.locator("#sent-to")).to_be_visible()
        await page.get_by_role("button", name="重新获取验证码").click()  # a new code within the minute: wait
        await expect(page.locator("#phone-error")).to_contain_text("秒后再获取验证码")
        code = await _code_sent_to(hotline, phone, before)
        wrong = "000000" if code != "000000" else "111111"
        for left in (4, 3, 2, 1):
            await _try_code(page, wrong, f"验证码不正确，还可尝试 {left} 次")
        await _try_code(page, wrong, "错误次数过多，请重新获取验证码")
        await _try_code(page, code, "错误次数过多，请重新获取验证码")  # locked: even the right code
        await page.screenshot(path=str(SHOTS / "self-service-locked-zh.png"), full_page=True)
    finally:
        await ctx.close()
