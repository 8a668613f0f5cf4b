"""Division supervisors see their own division's tickets only; the org admin's routing checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.system import BrowserSystem
from tests.browser.work_steps import repair, sign_in_as

pytestmark = pytest.mark.asyncio(loop_scope="session")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"


async def test_a_division_supervisor_cannot_open_another_divisions_ticket(page: Page, hotline: BrowserSystem) -> None:
    ticket = await repair(hotline)  # 青秀区: U-QINGXIU, division D-EAST

    await sign_in_as(page, hotline, "division.west")
    await expect(page.locator("#ticket-table", has_text=ticket["number"])).to_have_count(0)
    await page.goto(f"/division/tickets/{ticket['ticket_id']}")
    await expect(page.get_by_role("alert")).to_contain_text("belongs to another division")
    await expect(page.locator("main")).not_to_contain_text(ticket["number"])
    await page.get_by_role("button", name="Sign out").click()

    await sign_in_as(page, hotline, "division.east")
    DOCS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(DOCS / "division-home.png"), full_page=True)
    await page.get_by_role("link", name=ticket["number"]).first.click()
    await expect(page.locator("h1")).to_contain_text(ticket["number"])
    await page.get_by_label("Mark").select_option("spot_check")
    await page.get_by_label("Note").fill("抽查：核实上门时间")
    await page.get_by_role("button", name="Save the mark").click()
    await expect(page.locator("#saved")).to_contain_text("Flag saved")
    await expect(page.locator("main")).to_contain_text("抽查：核实上门时间")


async def test_the_org_admin_previews_routing_and_an_overlapping_service_area_is_refused(
    page: Page, hotline: BrowserSystem
) -> None:
    await sign_in_as(page, hotline, "admin.org")
    await page.get_by_label("District", exact=True).fill("青秀区")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.locator("#preview-result")).to_contain_text("U-QINGXIU")

    await page.get_by_label("Rule code").fill("area-qingxiu-xingning")
    await page.get_by_label("Unit it dispatches to").select_option("U-XINGNING")
    await page.get_by_label("Districts (comma-separated)").fill("青秀区")
    await page.get_by_role("button", name="Check and save the rule").click()
    error = page.locator("#field-districts .error")
    await expect(error).to_contain_text("overlaps rule 'area-qingxiu'")
    await page.screenshot(path=str(DOCS / "org-overlap-refused.png"), full_page=True)
    await expect(page.locator("#rules")).not_to_contain_text("area-qingxiu-xingning")

    # a district nobody serves yet is accepted
    await page.get_by_label("Rule code").fill("area-yongning")
    await page.get_by_label("Unit it dispatches to").select_option("U-XINGNING")
    await page.get_by_label("Districts (comma-separated)").fill("邕宁区")
    await page.get_by_role("button", name="Check and save the rule").click()
    await expect(page.locator("#saved")).to_be_visible()
    await expect(page.locator("#rules")).to_contain_text("area-yongning")
