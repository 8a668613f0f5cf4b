"""The unit handler on a phone (390×844): the inbox by deadline with live arrivals, accept, contact, an
extension, the reply with a camera photo reduced on the server; a double tap acts once; too late is refused."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import Browser, FilePayload, Page, expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.steps import eventually
from tests.browser.system import BrowserSystem
from tests.browser.work_steps import camera_photo, dispatch_view, phone_context, repair, sign_in_as, unit_does

pytestmark = pytest.mark.asyncio(loop_scope="session")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"


@pytest_asyncio.fixture(loop_scope="session")
async def phone(chromium: Browser, hotline: BrowserSystem, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    ctx = await phone_context(chromium, hotline)
    page = await ctx.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    await ctx.close()


async def _touch_targets_are_large(page: Page) -> None:
    """Every visible button of the ticket's actions is at least 44 px high (one thumb, in the field)."""
    heights = await page.locator(".actions-bar button:visible").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 44, heights
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"


async def test_a_unit_handler_on_a_phone_accepts_contacts_asks_for_more_time_and_replies_with_a_photo(
    phone: Page, hotline: BrowserSystem
) -> None:
    await sign_in_as(phone, hotline, "handler.qingxiu")
    await expect(phone.get_by_role("heading", name="My tickets")).to_be_visible()

    # a new ticket arrives live, with a notice (and a sound), without a reload
    ticket = await repair(hotline)
    item = phone.locator("#inbox-list li", has_text=ticket["number"])
    await expect(item).to_be_visible(timeout=20_000)
    await expect(phone.locator("#notices .notice").first).to_be_visible()
    await expect(item.locator(".countdown")).to_have_text(re.compile(r"^−?\d\d:\d\d:\d\d$"))
    DOCS.mkdir(parents=True, exist_ok=True)
    await phone.screenshot(path=str(DOCS / "unit-inbox-phone.png"))

    await item.get_by_role("link").click()
    await expect(phone.locator("h1")).to_contain_text(ticket["number"])
    await _touch_targets_are_large(phone)
    await expect(phone.get_by_role("button", name="Reply")).to_have_count(0)  # not before accepting
    version = await phone.locator("#unit-ticket").get_attribute("data-version")
    await phone.get_by_role("button", name="Accept").click()
    await expect(phone.locator("#saved")).to_contain_text("Accepted")
    await expect(phone.locator("#saved")).to_contain_text("saved at")
    await expect(phone.locator("#ticket-status")).to_have_text("Accepted")

    # a second tap of the same Accept (the page as it was before) does nothing twice
    csrf = await phone.locator("body").get_attribute("data-csrf")
    form: dict[str, str | float | bool] = {"csrf_token": csrf or "", "expected_version": version or ""}
    english = {"Accept-Language": "en-US"}
    again = await phone.request.post(f"/unit/tickets/{ticket['ticket_id']}/accept", form=form, headers=english)
    assert "nothing was done twice" in await again.text()
    assert len(hotline.events.of(ticket["ticket_id"], "TicketAccepted")) == 1

    # reveal the phone with a reason: a tap-to-call link
    await phone.get_by_role("button", name="Show the phone").click()
    await expect(phone.locator("#call-link")).to_have_attribute("href", f"tel:{ticket['phone']}")

    await phone.get_by_role("button", name="Record contact").click()
    await phone.get_by_label("How").select_option("phone")
    await phone.get_by_label("Note").fill("已电话联系，约好下午上门")
    await phone.get_by_role("button", name="Save contact").click()
    await expect(phone.locator("#saved")).to_contain_text("Contact recorded")

    await phone.get_by_role("button", name="Request extension").click()
    await phone.get_by_label("Clock").select_option("resolve")
    clocks = (await dispatch_view(hotline, "handler.qingxiu", ticket["ticket_id"]))["clocks"]
    resolve = datetime.fromisoformat(next(c for c in clocks if c["clock"] == "resolve")["deadline"])
    later = (resolve + timedelta(days=2)).astimezone(hotline.now().tzinfo)
    await phone.get_by_label("New deadline").fill(later.strftime("%Y-%m-%dT%H:%M"))
    await phone.get_by_label("Why more time is needed").fill("需要等待配件到货")
    await phone.get_by_role("button", name="Send request").click()
    await expect(phone.locator("#saved")).to_contain_text("Extension requested")

    # the reply: a wrong file is refused beside the field, a camera photo goes through reduced
    await phone.get_by_role("button", name="Reply").click()
    await phone.get_by_label("Result").fill("已上门更换点火针，灶具恢复正常")
    await phone.get_by_label("Attachments").set_input_files(
        files=[FilePayload(name="notes.txt", mimeType="text/plain", buffer=b"not a photo")]
    )
    await phone.get_by_role("button", name="Send reply").click()
    await expect(phone.locator("#field-attachments .error")).to_contain_text("not a photo")
    await expect(phone.locator("#ticket-status")).to_have_text("Accepted")  # nothing was sent

    photo = camera_photo()
    await phone.get_by_label("Attachments").set_input_files(
        files=[FilePayload(name="IMG_0001.jpg", mimeType="image/jpeg", buffer=photo)], timeout=60_000
    )
    await phone.screenshot(path=str(DOCS / "unit-reply-phone.png"), full_page=True)
    await phone.get_by_role("button", name="Send reply").click()
    await expect(phone.locator("#saved")).to_contain_text("Reply sent for review", timeout=60_000)
    await expect(phone.locator("#ticket-status")).to_have_text("Replied")
    await phone.screenshot(path=str(DOCS / "unit-ticket-phone.png"), full_page=True)

    view = await dispatch_view(hotline, "handler.qingxiu", ticket["ticket_id"])
    (attachment,) = view["attachments"]
    assert attachment["media_type"] == "image/jpeg" and attachment["size_bytes"] < len(photo) / 2
    stored = await hotline.api(
        "handler.qingxiu",
        "dispatch",
        "GET",
        f"/api/v1/tickets/{ticket['ticket_id']}/attachments/{attachment['attachment_id']}",
    )
    assert max(Image.open(io.BytesIO(stored.content)).size) <= 1600
    assert view["replies"][-1]["attachment_ids"] == [attachment["attachment_id"]]


async def test_an_extension_after_the_deadline_is_refused_with_its_message(phone: Page, hotline: BrowserSystem) -> None:
    ticket = await repair(hotline)
    await unit_does(hotline, "handler.qingxiu", ticket["ticket_id"], "accept")
    contact = next(
        c
        for c in (await dispatch_view(hotline, "handler.qingxiu", ticket["ticket_id"]))["clocks"]
        if c["clock"] == "contact"
    )
    deadline = datetime.fromisoformat(contact["deadline"])

    async def passed() -> bool:
        return hotline.now() > deadline

    # the repair's contact limit is 2 h (RULES.md §2): a minute of real time at the simulated clock's speed
    await eventually(passed, within=180, what="the contact deadline passes")
    await sign_in_as(phone, hotline, "handler.qingxiu")
    await phone.goto(f"/unit/tickets/{ticket['ticket_id']}")
    await phone.get_by_role("button", name="Request extension").click()
    await expect(phone.locator("#form-extension .late")).to_contain_text("too late")
    await phone.get_by_label("Clock").select_option("contact")
    await phone.get_by_label("New deadline").fill(deadline.astimezone(hotline.now().tzinfo).strftime("%Y-%m-%dT23:59"))
    await phone.get_by_label("Why more time is needed").fill("用户不在家")
    await phone.get_by_role("button", name="Send request").click()
    await expect(phone.locator("#action-error")).to_contain_text(
        "The deadline has passed: an extension can only be asked before it."
    )
    assert hotline.events.of(ticket["ticket_id"], "ExtensionRequested") == []
