"""Urgent notices reach every agent's open page as they happen; the keyboard reaches the main pages."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.steps import marker, mobile, sign_in
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_alarm_taken_by_one_agent_is_an_urgent_notice_on_anothers_page(
    page: Page, hotline: BrowserSystem
) -> None:
    await sign_in(page, hotline, "agent.wang")
    await page.wait_for_timeout(500)  # the page's event stream is open
    alarm = {
        "name": "郑测试",
        "phone": mobile(),
        "address": f"广西壮族自治区南宁市青秀区{marker()}路8号",
        "scene": "楼道里燃气味很重",
        "unit_id": "U-QINGXIU",
        "location": {"district": "青秀区"},
    }
    answer = await hotline.api("agent.li", "intake", "POST", "/api/v1/alarms", json=alarm)
    assert answer.status_code == 201, answer.text
    notice = page.locator("#notices .notice.urgent")
    await expect(notice).to_have_count(1)
    await expect(notice).to_contain_text("Urgent notice sent")
    await expect(notice).to_contain_text("alarm")
    await expect(notice).to_have_attribute("role", "alert")
    await notice.get_by_role("button", name="dismiss").click()
    await expect(notice).to_have_count(0)


async def test_shortcuts_open_the_form_and_search_and_ctrl_enter_submits(page: Page, hotline: BrowserSystem) -> None:
    await sign_in(page, hotline)
    await page.keyboard.press("Alt+n")
    await page.wait_for_url("**/work-orders/new")
    await page.keyboard.press("Alt+s")
    await page.wait_for_url("**/search")
    await page.get_by_label("Ticket number").fill("DEMO-19990101-000001")
    await page.get_by_label("Ticket number").press("Enter")
    await expect(page.locator("#results")).to_contain_text("No ticket matches")
    await page.keyboard.press("Alt+n")
    await page.wait_for_url("**/work-orders/new")
    await page.get_by_label("Category").focus()
    await page.keyboard.press("Control+Enter")  # nothing chosen: the form comes back with the error
    await expect(page.locator("#error-summary")).to_be_visible()


async def test_12345_tasks_have_their_own_list_on_the_agents_home(page: Page, hotline: BrowserSystem) -> None:
    task = {
        "external_task_id": f"12345-{marker()}",
        "ticket": {
            "channel": "gov12345",
            "category": "complaint",
            "description": "市民反映燃气公司维修不及时",
            "customer": {"name": "冯测试", "phone": mobile()},
            "complaint": {"place": "民族大道", "complaint_type": "slow_repair"},
            "location": {"district": "青秀区"},
        },
    }
    answer = await hotline.api("agent.li", "intake", "POST", "/api/v1/gov12345/tasks", json=task)
    assert answer.status_code == 201, answer.text
    number = answer.json()["ticket"]["ticket_number"]
    await sign_in(page, hotline)
    await expect(page.locator("#gov-tasks tbody")).to_contain_text(number)
