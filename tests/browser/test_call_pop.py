"""An incoming call pops the caller's record at the agent's extension; one click starts a ticket from it."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.steps import sign_in
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_call_pops_the_masked_customer_at_the_agents_extension(page: Page, hotline: BrowserSystem) -> None:
    await sign_in(page, hotline, "agent.wang")
    await page.get_by_label("My extension").fill("8002")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".who")).to_contain_text("8002")
    await page.wait_for_timeout(500)  # the page's event stream is open

    await hotline.ring("13800001001", "8009")  # another agent's phone rings: nothing here
    call_id = await hotline.ring("13800001001", "8002")
    pop = page.locator(f"#pop-{call_id}")
    await expect(pop).to_be_visible()
    # 张伟 of the demo customers, masked (RULES.md §6)
    await expect(pop).to_contain_text("张*")
    await expect(pop).to_contain_text("138****1001")
    await expect(pop).not_to_contain_text("13800001001")
    await expect(pop).to_contain_text("******1001")  # the account number too, before the identity check
    await expect(pop).not_to_contain_text("NN-0001001")
    await expect(page.locator("#call-pop .pop")).to_have_count(1)

    await pop.get_by_role("link", name="Start a ticket from this call").click()
    await expect(page.get_by_label("Phone")).to_have_value("13800001001")
    # the work order carries the call (the knowledge panel beside it carries it too, for its searches)
    await expect(page.locator("#work-order input[name=call_id]")).to_have_value(call_id)
