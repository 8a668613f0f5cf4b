"""Screenshots of the console's main pages for docs/console/, from a real system (tests/browser/system.py).

    .venv/bin/python scripts/console_screenshots.py [--locale zh-CN|en-US] [--out docs/console]

Starts every service, identity and the console on the `hotline infra` broker and PostgreSQL server, takes a
call, creates work orders, lets the unit accept and reply, and photographs each page in Debian's chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import struct
import sys
import tempfile
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.infra.harness import ensure_kafka, ensure_postgres  # noqa: E402
from hotline.infra.postgres import TEST_DATABASE  # noqa: E402
from hotline.infra.settings import InfraSettings  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.system import BrowserSystem, running_system  # noqa: E402


async def shoot(page: Page, out: Path, name: str) -> None:
    await page.wait_for_timeout(600)
    await page.screenshot(path=str(out / f"{name}.png"), full_page=True)


def locale_is_chinese(page: Page) -> bool:
    return LOCALE[0].startswith("zh")


LOCALE = ["zh-CN"]


async def tour(system: BrowserSystem, page: Page, out: Path) -> None:
    await page.goto("/")
    await shoot(page, out, "01-sign-in")
    await page.locator("#username").fill("agent.li")
    await page.locator("#password").fill(system.passwords["agent.li"])
    await page.locator("form[action='/sign-in'] button").click()
    await page.wait_for_url("**/home")
    await page.locator("#extension").fill("8001")
    await page.locator("form[action='/extension'] button").click()
    await page.wait_for_url("**/home")

    # a repair with a bad phone, then right
    await page.goto("/work-orders/new")
    await page.locator("#category").select_option("repair")
    await page.wait_for_timeout(700)
    await page.locator("#description").fill("灶具打不着火，闻到轻微燃气味")
    await page.locator("#customer_name").fill("张伟")
    await page.locator("#phone").fill("1380000")
    await page.locator("#address").fill("广西壮族自治区南宁市青秀区民族大道100号3栋2单元501")
    await page.locator("#district").fill("青秀区")
    await page.locator("#work-order button[type=submit]").click()
    await shoot(page, out, "03-work-order-error-beside-phone")
    await page.locator("#phone").fill("13800001001")
    await page.locator("#work-order button[type=submit]").click()
    await page.wait_for_url("**/tickets/**")
    ticket_id = page.url.split("/tickets/")[1].split("?")[0]
    await system.events.wait_for(ticket_id, "TicketDispatched")
    answer = await system.api("handler.qingxiu", "dispatch", "POST", f"/api/v1/tickets/{ticket_id}/accept")
    assert answer.status_code == 200, answer.text
    await page.locator("#timeline li[data-type=TicketAccepted]").wait_for()
    await page.locator("#ticket-status", has_text="已接单" if locale_is_chinese(page) else "Accepted").wait_for()
    await shoot(page, out, "04-ticket-page-live")
    await attachments_and_callback(system, page, out, ticket_id)

    # the call pop, with a planned interruption of the caller's district (reporting)
    now = system.now()
    notice = {
        "branch": "demo",
        "district": "青秀区",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "message": "民族大道管网改造，12月2日 9:00–17:00 停气，请提前关闭燃气阀门",
    }
    answer = await system.api("center.zhou", "reporting", "POST", "/api/v1/planned-interruptions", json=notice)
    assert answer.status_code == 201, answer.text
    await page.goto("/home")
    await page.wait_for_timeout(800)
    await system.ring("13800001001", "8001")
    await page.locator("#start-from-call").wait_for()
    await shoot(page, out, "02-home-call-pop")

    # alarm form and its result
    await page.goto("/work-orders/new?category=alarm")
    await shoot(page, out, "05-alarm-form")
    # the district typed on a new work order: the area's notice beside it
    await page.goto("/work-orders/new?category=repair")
    await page.locator("#district").fill("青秀区")
    await page.locator("#district").press("Tab")
    await page.locator("#area-notices .area-notices").wait_for()
    await shoot(page, out, "11-work-order-area-notice")
    # several requests of one call
    await page.goto("/work-orders/new?category=repair")
    await page.locator("#description").fill("热水器点不着")
    await page.locator("#phone").fill("13800001003")
    await page.locator("#address").fill("广西壮族自治区南宁市西乡塘区大学东路88号")
    await page.locator("#district").fill("西乡塘区")
    await page.locator("summary").click()
    await page.locator("[id='requests.1.category']").select_option("complaint")
    await page.locator("[id='requests.1.description']").fill("上次维修人员态度差")
    await page.locator("#complaint_place").fill("大学东路88号")
    await page.locator("#complaint_type").fill("service_attitude")
    await page.locator("[id='requests.2.category']").select_option("service_request")
    await page.locator("[id='requests.2.subtype']").select_option("installation")
    await page.locator("[id='requests.2.unit_id']").fill("U-QINGXIU")
    await page.locator("button[hx-post='/work-orders/preview']").click()
    await page.locator("#split-table").wait_for()
    await shoot(page, out, "06-split-requests-preview")
    await page.goto("/search?district=&category=repair")
    await shoot(page, out, "07-search")
    await page.goto("/callbacks")
    await shoot(page, out, "08-callback-desk")


def png() -> bytes:
    """A small real PNG (dispatch checks a file's type by its content)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x30\x80\xc0" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def attachments_and_callback(system: BrowserSystem, page: Page, out: Path, ticket_id: str) -> None:
    """The unit replies with a photo (the ticket page's attachments), the center approves, the desk calls back
    and a new request without its address is refused beside the input; then the rejected list."""

    async def act(who: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = await system.api(who, "dispatch", "POST", f"/api/v1/tickets/{ticket_id}/{path}", json=body)
        assert answer.status_code in (200, 201), answer.text
        result: dict[str, Any] = answer.json()
        return result

    await act("handler.qingxiu", "contact", {"method": "phone", "note": "已电话联系"})
    photo = base64.b64encode(png()).decode()
    stored = await act(
        "handler.qingxiu",
        "attachments",
        {"filename": "灶具点火针.png", "media_type": "image/png", "content_base64": photo},
    )
    await act("handler.qingxiu", "reply", {"result": "已上门更换点火针", "attachment_ids": [stored["attachment_id"]]})
    await system.events.wait_for(ticket_id, "TicketReplied")
    for _ in range(40):
        await page.reload()
        if await page.locator("#attachments tr[data-attachment]").count():
            break
        await page.wait_for_timeout(500)
    await shoot(page, out, "09-ticket-attachments")
    await act("center.zhou", "review", {"decision": "approve"})
    for _ in range(60):
        await page.goto("/callbacks")
        row = page.locator("#due-queue tbody tr[data-callback]")
        if await row.count():
            break
        await page.wait_for_timeout(1000)
    await row.first.locator("button").click()
    await page.locator("#outcome").select_option("reached")
    await page.locator("#problem_solved").select_option("yes")
    await page.locator("#satisfaction").select_option("5")
    await page.locator("#new_category").select_option("repair")
    await page.locator("#new-request[data-category=repair]").wait_for()
    await page.locator("#new_description").fill("厨房热水器也打不着火")
    await page.locator("#outcome-form button[type=submit]").click()
    await page.locator("#new_address-error").wait_for()
    await shoot(page, out, "10-callback-new-request-refused")
    await page.goto("/new-requests")
    await shoot(page, out, "12-rejected-new-requests")


async def main(locale: str, out: Path) -> None:
    LOCALE[0] = locale
    infra = InfraSettings()
    bootstrap, _ = ensure_kafka(infra)
    database_url, _ = ensure_postgres(infra, database=TEST_DATABASE)
    with tempfile.TemporaryDirectory(prefix="console-shots-") as folder:
        async with running_system(bootstrap, database_url, Path(folder)) as system, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = await browser.new_context(
                base_url=system.console_url, locale=locale, viewport={"width": 1360, "height": 900}
            )
            await tour(system, await context.new_page(), out)
            await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locale", default="zh-CN")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(arguments.locale, arguments.out))
