"""Accessibility of the pages after dispatch: axe-core finds no critical violation (every input labelled)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser

from tests.browser.system import BrowserSystem
from tests.browser.test_accessibility import AXE, critical_violations
from tests.browser.work_steps import PHONE, repair, sign_in_as

pytestmark = pytest.mark.asyncio(loop_scope="session")

PAGES = {
    "handler.qingxiu": ("/unit", "/unit/tickets/{ticket}"),
    "center.zhou": (
        "/center",
        "/center/reviews",
        "/center/returns",
        "/center/queue",
        "/center/extensions",
        "/center/supervision",
    ),
    "division.east": ("/division", "/division/tickets/{ticket}"),
    "admin.org": ("/org",),
}


async def test_no_page_after_dispatch_has_a_critical_accessibility_violation(
    chromium: Browser, hotline: BrowserSystem
) -> None:
    assert AXE.is_file(), "axe-core is installed by make setup (package.json)"
    ticket = await repair(hotline)
    found: dict[str, list[dict[str, Any]]] = {}
    for username, paths in PAGES.items():
        viewport = PHONE if username.startswith("handler") else {"width": 1360, "height": 900}
        # axe is injected as a script: the test's own context lets it past the pages' script policy
        context = await chromium.new_context(
            base_url=hotline.console_url,
            locale="en-US",
            bypass_csp=True,
            viewport=viewport,
        )
        page = await context.new_page()
        try:
            await sign_in_as(page, hotline, username)
            for path in paths:
                await page.goto(path.format(ticket=ticket["ticket_id"]))
                found[f"{username} {path}"] = await critical_violations(page)
        finally:
            await context.close()
    assert {name: v for name, v in found.items() if v} == {}
