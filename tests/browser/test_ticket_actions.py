"""The ticket page's attachments (downloaded through the console with the agent's own token) and the actions
the person's role may take there (the ticket's allowed_actions), each answering beside itself."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.steps import choose_category, eventually, fill, marker, mobile, sign_in
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")


def png() -> bytes:
    """A real 2x2 PNG, as a handler's phone would send (dispatch checks the type by its content)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def _created(page: Page, category: str, text: str) -> str:
    await page.get_by_role("link", name="New work order").click()
    await choose_category(page, category)
    await fill(
        page,
        description=text,
        name="吴测试",
        phone=mobile(),
        address=f"广西壮族自治区南宁市青秀区{marker()}路8号",
        district="青秀区",
    )
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#created-banner")).to_be_visible()
    return page.url.split("/tickets/")[1].split("?")[0]


async def test_the_units_photo_is_listed_and_downloads_through_the_console(page: Page, hotline: BrowserSystem) -> None:
    await sign_in(page, hotline)
    ticket_id = await _created(page, "repair", "表前阀漏气 " + marker())
    await expect(page.locator("#attachments")).to_contain_text("No attachment yet.")
    await hotline.events.wait_for(ticket_id, "TicketDispatched")

    async def unit(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = await hotline.api(
            "handler.qingxiu", "dispatch", "POST", f"/api/v1/tickets/{ticket_id}/{path}", json=body
        )
        assert answer.status_code in (200, 201), answer.text
        result: dict[str, Any] = answer.json()
        return result

    await eventually(lambda: unit("accept"), what="accept")
    await unit("contact", {"method": "phone", "note": "已联系"})
    photo = png()
    stored = await unit(
        "attachments",
        {"filename": "meter.png", "media_type": "image/png", "content_base64": base64.b64encode(photo).decode()},
    )
    await unit("reply", {"result": "已更换表前阀", "attachment_ids": [stored["attachment_id"]]})
    await hotline.events.wait_for(ticket_id, "TicketReplied")

    async def listed() -> bool:
        await page.reload()
        return await page.locator("#attachments tr[data-attachment]").count() == 1

    await eventually(listed, what="the reply's attachment on the page")
    row = page.locator(f"#attachments tr[data-attachment='{stored['attachment_id']}']")
    await expect(row).to_contain_text("meter.png")
    await expect(row).to_contain_text("image/png")
    async with page.expect_download() as waiting:
        await row.get_by_role("link", name="Download meter.png").click()
    download = await waiting.value
    path = await download.path()
    assert path is not None and path.read_bytes() == photo  # the bytes dispatch stored, through the console

    # another ticket's id with this attachment: dispatch refuses, the console says so and passes nothing on
    other = await page.request.get(
        f"/tickets/{'0' * 8}-0000-0000-0000-{'0' * 12}/attachments/{stored['attachment_id']}"
    )
    assert other.status == 404 and photo not in await other.body()


async def test_the_agent_closes_a_consultation_on_the_call_from_the_ticket_page(
    page: Page, hotline: BrowserSystem
) -> None:
    await sign_in(page, hotline)
    ticket_id = await _created(page, "consultation", "咨询改装燃气灶的流程 " + marker())
    # the ticket's allowed_actions for an agent: reveal and, while it has gone nowhere yet, the close on the call
    await expect(page.get_by_role("button", name="Reveal")).to_be_visible()
    resolve = page.get_by_role("button", name="Close on the call")
    if await resolve.count() == 0:
        # dispatch had routed it before the page was drawn: then the page must not offer the close
        await expect(page.locator("#ticket-status")).not_to_have_text("Received")
        pytest.fail("the consultation was dispatched before its page showed; the close could not be tried")
    await resolve.click()
    await expect(page.locator("#resolve-answer-error")).to_contain_text("Write the answer you gave the caller")
    await page.get_by_label("Answer given on the call").fill("改装需到营业厅申请，携带身份证和燃气卡")
    await page.get_by_role("button", name="Close on the call").click()
    done = page.locator("#resolve-done")
    refused = page.locator("#resolve-error")
    await expect(done.or_(refused)).to_be_visible()
    if await done.count():
        closed = await hotline.events.wait_for(ticket_id, "TicketResolvedOnFirstContact")
        assert closed.payload.answer.startswith("改装需到营业厅申请")
        await expect(page.locator("#ticket-status")).to_have_text("Resolved on the call")
    else:
        # intake refused it (dispatch routed the ticket meanwhile): the reason beside the button, nothing closed
        await expect(refused).to_contain_text("already")


async def test_the_center_supervisor_is_offered_no_reveal(page: Page, hotline: BrowserSystem) -> None:
    """intake lets agents and unit handlers reveal (RULES.md §6): the page does not offer what would be refused."""
    await sign_in(page, hotline)
    ticket_id = await _created(page, "repair", "燃气表不走字 " + marker())
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, hotline, "center.zhou")
    await page.goto(f"/tickets/{ticket_id}")
    await expect(page.locator("h1")).to_contain_text("Ticket")
    await expect(page.get_by_role("button", name="Reveal")).to_have_count(0)
    await expect(page.locator("#attachments")).to_be_visible()
