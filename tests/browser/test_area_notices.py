"""A planned interruption the center registers through reporting's API shows at the pop of a call from that
district, and beside the new work order's district when the agent types it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Page, expect

from tests.browser.steps import marker, mobile, sign_in
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_planned_interruption_shows_at_the_pop_of_a_call_from_its_district(
    page: Page, hotline: BrowserSystem
) -> None:
    district = f"测试{marker()}区"  # a district of this story alone
    now = hotline.now()
    message = f"{district}管网改造，今日停气，恢复时间另行通知 " + marker()
    registered = await hotline.api(
        "center.zhou",
        "reporting",
        "POST",
        "/api/v1/planned-interruptions",
        json={
            "branch": "demo",
            "district": district,
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=20)).isoformat(),
            "message": message,
        },
    )
    assert registered.status_code == 201, registered.text

    # the caller rang before, about a meter in that district
    phone = mobile()
    created = await hotline.api(
        "agent.li",
        "intake",
        "POST",
        "/api/v1/tickets",
        json={
            "category": "repair",
            "description": "燃气表不走字",
            "customer": {"name": "陈测试", "phone": phone, "address": f"广西壮族自治区南宁市{district}某路1号"},
            "location": {"district": district},
            "callback": {"mode": "required"},
        },
        headers={"Idempotency-Key": marker()},
    )
    assert created.status_code == 201, created.text

    await sign_in(page, hotline, "agent.wang")
    await page.get_by_label("My extension").fill("8016")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".who")).to_contain_text("8016")
    await page.wait_for_timeout(500)  # the page's event stream is open
    call_id = await hotline.ring(phone, "8016")
    pop = page.locator(f"#pop-{call_id}")
    await expect(pop).to_be_visible()
    notice = pop.locator(f".area-notice[data-notice='{registered.json()['notice_id']}']")
    await expect(notice).to_contain_text("Planned interruption")
    await expect(notice).to_contain_text(message)

    # a caller from elsewhere hears no such notice
    other = await hotline.ring("13800001001", "8016")
    await expect(page.locator(f"#pop-{other}")).to_be_visible()
    await expect(page.locator(f"#pop-{other}")).not_to_contain_text(message)

    # the work order's district, typed: the same notice beside it
    await page.goto("/work-orders/new?category=repair")
    await page.get_by_label("District").fill(district)
    await page.get_by_label("District").press("Tab")
    await expect(page.locator("#area-notices")).to_contain_text(message)
