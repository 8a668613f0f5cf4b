"""Signing in and out through identity, the language of the pages, the session cookie."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.steps import sign_in
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_agent_signs_in_sees_the_workspace_and_signs_out(page: Page, hotline: BrowserSystem) -> None:
    await page.goto("/")
    await page.get_by_label("Username").fill("agent.li")
    await page.get_by_label("Password").fill("not the password at all")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not right")

    await sign_in(page, hotline, "agent.li")
    await expect(page.get_by_role("link", name="New work order")).to_be_visible()
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["hotline_console"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    # the browser holds a session id, never a token
    assert "." not in session["value"] and len(session["value"]) < 64

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(hotline.console_url + "/")
    await page.goto("/home")
    await expect(page.get_by_label("Username")).to_be_visible()


async def test_pages_are_chinese_by_default_and_english_by_choice(chromium: Browser, hotline: BrowserSystem) -> None:
    context = await chromium.new_context(base_url=hotline.console_url, locale="zh-CN")
    page = await context.new_page()
    try:
        await page.goto("/")
        await expect(page.get_by_label("用户名")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        await page.get_by_label("语言").select_option("en")
        await page.get_by_role("button", name="切换").click()
        await expect(page.get_by_label("Username")).to_be_visible()
    finally:
        await context.close()


async def test_a_form_posted_without_its_csrf_token_is_refused(page: Page, hotline: BrowserSystem) -> None:
    await sign_in(page, hotline, "agent.wang")
    response = await page.request.post(f"{hotline.console_url}/extension", form={"extension": "8999"}, max_redirects=0)
    assert response.status == 403
