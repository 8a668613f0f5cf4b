"""Identity check before an account query, with the lockout visible; reveal of a masked field with a reason."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.steps import choose_category, fill, marker, mobile, sign_in
from tests.browser.system import BrowserSystem

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _customer_id(hotline: BrowserSystem, phone: str) -> str:
    answer = await hotline.api("agent.li", "intake", "GET", "/api/v1/customers/history", params={"phone": phone})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["customers"][0]["customer_id"])


async def _answer(page: Page, name: str, id_number: str, address: str, phone: str) -> None:
    await page.get_by_label("Customer name").fill(name)
    await page.get_by_label("ID-card number").fill(id_number)
    await page.get_by_label("Address").fill(address)
    await page.get_by_label("Phone").fill(phone)
    await page.get_by_role("button", name="Verify").click()


async def test_the_account_shows_only_after_the_identity_check_and_wrong_answers_lock_it(
    page: Page, hotline: BrowserSystem
) -> None:
    await sign_in(page, hotline)
    zhang = await _customer_id(hotline, "13800001001")
    await page.goto(f"/customers/{zhang}/verify")
    await _answer(
        page, "张伟", "450103199001011238", "广西壮族自治区南宁市青秀区民族大道100号3栋2单元501", "13800001001"
    )
    await expect(page.get_by_role("status").filter(has_text="Identity verified")).to_be_visible()
    await expect(page.locator(".facts")).to_contain_text("NN-0001001")

    li = await _customer_id(hotline, "13800001002")
    # wrong answers until the lock bites (3 within the window; the demo clock runs 120x, so the lock is short)
    error = page.locator("#verify-error")
    for _ in range(6):
        await page.goto(f"/customers/{li}/verify")
        await _answer(page, "王五", "450102199002023453", "广西壮族自治区南宁市兴宁区朝阳路25号", "13800001002")
        await expect(error).to_be_visible()
        if "Locked" in await error.inner_text():
            break
    await expect(error).to_contain_text("Locked")
    await expect(page.get_by_role("button", name="Verify")).to_be_disabled()
    await expect(page.locator(".facts")).to_have_count(0)  # no account data while locked


async def test_a_masked_phone_is_shown_in_clear_only_with_a_reason(page: Page, hotline: BrowserSystem) -> None:
    await sign_in(page, hotline)
    await page.get_by_role("link", name="New work order").click()
    await choose_category(page, "consultation")
    phone = mobile()
    await fill(page, description=marker(), name="吴测试", phone=phone, address="广西壮族自治区南宁市青秀区竹溪大道3号")
    await page.get_by_role("button", name="Create").click()
    caller = page.locator(".facts").first
    await expect(caller).to_contain_text(phone[:3] + "****" + phone[-4:])
    await expect(caller).not_to_contain_text(phone)

    await page.get_by_label("Show in clear").select_option("phone")
    await page.get_by_label("Reason (audited)").fill("客户要求回电核实")
    await page.get_by_role("button", name="Reveal").click()
    await expect(page.locator("#revealed-value")).to_have_text(phone)
