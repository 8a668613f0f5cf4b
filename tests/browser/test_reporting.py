"""Issue 18, supervision in the console: the center publishes last month's bulletin and downloads it as PDF and
Excel through the console; the figures page; a breach happening in the system appears live on the wallboard."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, Download, Page, expect
from pypdf import PdfReader

from tests.browser.system import BrowserSystem
from tests.browser.work_steps import repair, sign_in_as

pytestmark = pytest.mark.asyncio(loop_scope="session")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"


async def _bytes(download: Download) -> bytes:
    return await asyncio.to_thread(Path(await download.path()).read_bytes)


async def test_the_center_publishes_last_months_bulletin_and_downloads_it(page: Page, hotline: BrowserSystem) -> None:
    last_month = hotline.now().date().replace(day=1).replace(month=hotline.now().month - 1)  # 2026-02-01
    page.set_default_timeout(60_000)  # publishing lays out the PDF: slow on a loaded machine
    await sign_in_as(page, hotline, "center.zhou")
    await page.get_by_role("link", name="Statistics and bulletins").click()
    await page.wait_for_url("**/reporting/bulletins")

    await page.get_by_label("Period", exact=True).select_option("month")
    await page.get_by_label("First day of the period").fill(last_month.replace(day=3).isoformat())
    await page.get_by_role("button", name="Publish the bulletin").click()
    error = page.locator("#field-period_start .error")
    await expect(error).to_be_visible()  # a month starts on its 1st: said beside the field, and in the summary
    await expect(page.locator("#publish-errors")).to_contain_text("First day of the period")
    await expect(page.get_by_label("First day of the period")).to_have_value(last_month.replace(day=3).isoformat())

    await page.get_by_label("First day of the period").fill(last_month.isoformat())
    await page.get_by_role("button", name="Publish the bulletin").click(timeout=180_000)
    await expect(page.locator("#published")).to_contain_text("Bulletin published", timeout=60_000)
    row = page.locator("#bulletins tr.just-published")
    await expect(row).to_contain_text(f"{last_month.year}年{last_month.month}月")
    DOCS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(DOCS / "reporting-bulletins.png"), full_page=True)

    async with page.expect_download() as pdf_download:
        await row.get_by_role("link", name="PDF").click()
    pdf = await _bytes(await pdf_download.value)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"{last_month.year}年{last_month.month}月" in text and "客服热线服务通报" in text
    async with page.expect_download() as xlsx_download:
        await row.get_by_role("link", name="Excel").click()
    book = load_workbook(io.BytesIO(await _bytes(await xlsx_download.value)))
    assert book.sheetnames[0] == "总体情况" and "满意度调查" in book.sheetnames

    await page.get_by_role("link", name="Figures").click()
    await page.get_by_label("By").select_option("unit")
    await page.get_by_label("Received until").fill("2026-01-01")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#until")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#figure-errors")).to_contain_text("The end is before the start")


async def test_a_breach_appears_live_on_the_wallboard(page: Page, hotline: BrowserSystem, chromium: Browser) -> None:
    page.set_default_timeout(60_000)
    await sign_in_as(page, hotline, "center.zhou")
    await page.goto("/reporting/wallboard")
    await expect(page.locator("#board-live")).to_have_text("live", timeout=60_000)
    await expect(page.locator("#fig-breaches")).not_to_have_text("–", timeout=60_000)
    await expect(page.locator("#gauge-contact svg").first).to_be_visible()  # ECharts drew the gauges
    before = int(await page.locator("#fig-breaches").inner_text())
    await page.evaluate("window.__sameDocument = true")

    ticket = await repair(hotline)  # dispatched to U-QINGXIU, nobody contacts the customer: 2 h = 60 s here
    breach = page.locator("#board-feed li.breach", has_text="U-QINGXIU").filter(has_text=ticket["ticket_id"][:8])
    await expect(breach).to_be_visible(timeout=150_000)
    await expect(page.locator("#fig-breaches")).not_to_have_text(str(before))
    assert int(await page.locator("#fig-breaches").inner_text()) > before
    assert await page.evaluate("window.__sameDocument === true")  # live, not reloaded
    DOCS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(DOCS / "reporting-wallboard-en.png"), full_page=True)

    chinese = await chromium.new_context(
        base_url=hotline.console_url, locale="zh-CN", viewport={"width": 1600, "height": 900}
    )
    try:
        zh = await chinese.new_page()
        zh.set_default_timeout(60_000)
        await zh.goto("/")
        await zh.get_by_label("用户名", exact=True).fill("center.zhou")
        await zh.get_by_label("密码", exact=True).fill(hotline.passwords["center.zhou"])
        await zh.get_by_role("button", name="登录", exact=True).click()
        await zh.wait_for_url("**/center")
        await zh.goto("/reporting/wallboard")
        await expect(zh.locator("#board-live")).to_have_text("实时", timeout=60_000)
        await expect(zh.locator("#board-feed")).to_be_visible()
        await zh.wait_for_timeout(1500)
        await zh.screenshot(path=str(DOCS / "reporting-wallboard-zh.png"), full_page=True)
        await zh.goto("/reporting/figures")
        await zh.screenshot(path=str(DOCS / "reporting-figures-zh.png"), full_page=True)
    finally:
        await chinese.close()
