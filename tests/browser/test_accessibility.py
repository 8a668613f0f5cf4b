"""Accessibility: axe-core (from npm, node_modules/axe-core) finds no critical violation on any main page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.steps import choose_category, fill, marker, mobile, sign_in
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


async def critical_violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] == "critical"
    ]


async def test_no_page_has_a_critical_accessibility_violation(chromium: Browser, hotline: BrowserSystem) -> None:
    assert AXE.is_file(), "axe-core is installed by make setup (package.json)"
    # axe is injected as a script: the test's own context lets it past the pages' script policy
    context = await chromium.new_context(base_url=hotline.console_url, locale="en-US", bypass_csp=True)
    page = await context.new_page()
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        await page.goto("/")
        found["sign-in"] = await critical_violations(page)
        await sign_in(page, hotline, "agent.wang")
        found["home"] = await critical_violations(page)
        await page.goto("/work-orders/new")
        await choose_category(page, "complaint")
        found["new work order"] = await critical_violations(page)
        phone = mobile()
        await fill(
            page, description=marker(), name="钱测试", phone=phone, address="广西壮族自治区南宁市青秀区金湖路9号"
        )
        await page.get_by_label("Place complained about").fill("金湖路9号")
        await page.get_by_label("Complaint type").fill("billing")
        await page.get_by_role("button", name="Create").click()
        await expect(page.locator("#created-banner")).to_be_visible()
        found["ticket"] = await critical_violations(page)
        await page.goto(f"/search?phone={phone}")
        found["search"] = await critical_violations(page)
        await page.goto("/callbacks")
        found["callback desk"] = await critical_violations(page)
        await page.goto("/customers/C-1/verify")
        found["identity check"] = await critical_violations(page)
    finally:
        await context.close()
    assert {name: v for name, v in found.items() if v} == {}
