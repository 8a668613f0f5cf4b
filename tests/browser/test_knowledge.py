"""The knowledge base in the console (issue 19): a unit drafts, its division reviews, the center publishes, an agent
finds the article on a call and closes the ticket on first contact with it; stale articles, retire, needs, history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.steps import choose_category, eventually, marker, sign_in
from tests.browser.system import BrowserSystem
from tests.browser.test_accessibility import AXE, critical_violations

pytestmark = pytest.mark.asyncio(loop_scope="session")

METER_BODY = (
    "## 先自查\n\n- 确认表前阀门已打开\n- 看灶具是否在用气\n\n"
    "仍不走字请报修，**不要自行拆表**。\n\n<script>alert(1)</script>"
)


class People:
    """Each person in their own browser profile (a profile holds one signed-in session)."""

    def __init__(self, chromium: Browser, hotline: BrowserSystem) -> None:
        self.chromium, self.hotline = chromium, hotline
        self.contexts: list[BrowserContext] = []

    async def page(self, username: str) -> Page:
        context = await self.chromium.new_context(
            base_url=self.hotline.console_url, locale="en-US", viewport={"width": 1360, "height": 900}
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = await context.new_page()
        await sign_in(page, self.hotline, username)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def people(chromium: Browser, hotline: BrowserSystem) -> AsyncIterator[People]:
    crowd = People(chromium, hotline)
    yield crowd
    await crowd.close()


async def _draft(page: Page, title: str, body: str, review_by: str = "") -> str:
    """The unit's handler writes a new article and saves the draft; returns its id."""
    await page.goto("/knowledge")
    await page.get_by_role("link", name="New article").click()
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Category").select_option("consultation")
    await page.get_by_label("Tags").fill("燃气表, 抄表")
    if review_by:
        await page.get_by_label("Review by").fill(review_by)
    await page.get_by_label("Text (Markdown)").fill(body)
    await page.get_by_role("button", name="Save the draft").click()
    await expect(page.locator("#kb-done")).to_contain_text("Draft saved")
    return page.url.split("/knowledge/")[1].split("?")[0]


async def _article_api(hotline: BrowserSystem, username: str, article_id: str) -> dict[str, Any]:
    answer = await hotline.api(username, "knowledge", "GET", f"/api/v1/articles/{article_id}")
    assert answer.status_code == 200, answer.text
    article: dict[str, Any] = answer.json()
    return article


async def test_a_unit_drafts_the_division_approves_the_center_publishes_and_an_agent_resolves_with_it(
    people: People, hotline: BrowserSystem
) -> None:
    word = marker()
    title = f"燃气表不走字怎么办 {word}"

    # the unit's handler: a title too short is refused beside its input, nothing is created
    unit = await people.page("handler.qingxiu")
    await unit.goto("/knowledge/new")
    await unit.get_by_label("Title").fill("燃")
    await unit.get_by_label("Category").select_option("consultation")
    await unit.get_by_label("Text (Markdown)").fill(METER_BODY)
    await unit.get_by_role("button", name="Save the draft").click()
    await expect(unit.locator("#field-title .error")).to_contain_text("at least 2")
    await expect(unit.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    # the preview is the safe rendering: the heading shows, the script does not run or show as markup
    await expect(unit.locator("#kb-preview h2")).to_have_text("先自查")
    await expect(unit.locator("#kb-preview script")).to_have_count(0)

    article_id = await _draft(unit, title, METER_BODY)
    await expect(unit.locator("#kb-status")).to_have_text("Draft")
    await expect(unit.locator(".kb-body h2")).to_have_text("先自查")
    await expect(unit.locator(".kb-body script")).to_have_count(0)
    await unit.get_by_role("button", name="Submit for review").click()
    await expect(unit.locator("#kb-status")).to_have_text("Waiting for the division's review")
    # submitted: the unit may no longer edit it (the service's allowed actions, shown as such)
    await expect(unit.get_by_role("link", name="Edit the draft")).to_have_count(0)

    # the division: its review queue lists it; a send-back without notes is refused beside the notes
    division = await people.page("division.east")
    await division.goto("/knowledge/review")
    await division.locator("#kb-queue").get_by_role("link", name=title).click()
    stale_tab = await division.context.new_page()
    await stale_tab.goto(division.url)
    await division.get_by_role("button", name="Send back with notes").click()
    await expect(division.locator("#notes-error")).to_be_visible()
    await expect(division.get_by_label("What the writers must change")).to_have_attribute("aria-invalid", "true")
    await division.get_by_label("Notes (optional)").fill("内容准确，同意")
    await division.get_by_role("button", name="Approve").click()
    await expect(division.locator("#kb-status")).to_have_text("Waiting for the center to publish")
    # the same step from a page opened before: the service's 409, said plainly
    await stale_tab.get_by_role("button", name="Approve").click()
    await expect(stale_tab.locator("#error-summary")).to_contain_text("This step is not possible now")
    await expect(stale_tab.locator("#error-summary")).to_contain_text("Waiting for the center to publish")
    await stale_tab.close()

    # the center: its publish queue lists it; it publishes
    center = await people.page("center.zhou")
    await center.goto("/knowledge/review")
    await expect(center.locator("h1")).to_have_text("Publish queue")
    await center.locator("#kb-queue").get_by_role("link", name=title).click()
    await center.get_by_role("button", name="Publish").click()
    await expect(center.locator("#kb-status")).to_have_text("Published")
    await expect(center.locator(".timeline")).to_contain_text("内容准确，同意")

    # the agent on a call: the pop's knowledge search finds it, one click starts the ticket with it attached
    agent = await people.page("agent.li")
    await agent.get_by_label("My extension").fill("8031")
    await agent.get_by_role("button", name="Save").click()
    await expect(agent.locator(".who")).to_contain_text("8031")
    await agent.wait_for_timeout(500)  # the page's event stream is open
    call_id = await hotline.ring("13800001001", "8031")
    panel = agent.locator("#pop-" + call_id + " #kb-panel-pop")
    await panel.get_by_label("Search the knowledge base").fill("燃气表不走字")
    await panel.get_by_role("button", name="Search").click()
    hit = panel.locator(f"li[data-article='{article_id}']")
    await expect(hit).to_contain_text(title)
    await expect(hit).to_contain_text("Consultation")
    await expect(hit).not_to_contain_text("possibly out of date")
    await hit.get_by_role("button", name="Read").click()
    await expect(panel.locator(".kb-read-card h3")).to_have_text(title)
    await hit.get_by_role("link", name="Answer this call with it").click()

    await agent.wait_for_url("**/work-orders/new**")
    await expect(agent.locator("#kb-attached")).to_contain_text(title)
    await expect(agent.locator("input[name=knowledge_article_id]")).to_have_value(article_id)
    # a question nobody has answered yet is kept as a knowledge need
    form_panel = agent.locator("#kb-panel-form")
    missing = f"壁挂炉显示故障代码 {marker()}"  # its own marker: the article's would find the article
    await form_panel.get_by_label("Search the knowledge base").fill(missing)
    await form_panel.get_by_role("button", name="Search").click()
    await expect(form_panel.locator(".kb-none")).to_contain_text("recorded as a knowledge need")
    # the form's own search attaches with one click as well (and keeps the attachment on a category change)
    await form_panel.get_by_label("Search the knowledge base").fill("燃气表 不走字")
    await form_panel.get_by_role("button", name="Search").click()
    await (
        form_panel.locator(f"li[data-article='{article_id}']")
        .get_by_role("button", name="Attach to the answer")
        .click()
    )
    await expect(agent.locator("input[name=knowledge_article_id]")).to_have_value(article_id)
    await choose_category(agent, "consultation")
    await expect(agent.locator("input[name=knowledge_article_id]")).to_have_value(article_id)
    await agent.get_by_label("Description").fill(f"燃气表不走字 {word}")
    await agent.get_by_label("Customer name").fill("张伟")
    await agent.get_by_label("Resolved on this call (first-contact resolution)").check()
    await agent.get_by_label("Answer given").fill("已指导用户确认表前阀门打开，燃气表恢复走字")
    await agent.get_by_role("button", name="Create").click()
    await agent.wait_for_url("**/tickets/**")
    ticket_id = agent.url.split("/tickets/")[1].split("?")[0]

    async def resolution() -> dict[str, Any] | None:
        answer = await hotline.api("agent.li", "intake", "GET", f"/api/v1/tickets/{ticket_id}")
        assert answer.status_code == 200, answer.text
        view: dict[str, Any] = answer.json()
        return view["resolution"] if view["status"] == "resolved_on_call" else None

    resolved = await eventually(resolution, what="the ticket resolved on the call")
    assert resolved["knowledge_article_id"] == article_id

    # helpful or not, on the ticket
    async def feedback_shown() -> bool:
        await agent.reload()
        return await agent.locator("#kb-feedback").count() == 1

    await eventually(feedback_shown, what="the ticket page names the article used")
    await agent.locator("#kb-feedback").get_by_role("button", name="Helpful", exact=True).click()
    await expect(agent.locator("#kb-feedback")).to_contain_text("marked helpful")

    # the center sees the missing answer among the most-needed ones
    await center.goto("/knowledge/needs")
    await expect(center.locator("#kb-needs")).to_contain_text(missing)


async def test_a_new_version_shows_its_diff_a_stale_article_is_flagged_and_retired_with_a_reason(
    people: People, hotline: BrowserSystem
) -> None:
    word = marker()
    yesterday = (hotline.now() - timedelta(days=1)).date().isoformat()
    title = f"阶梯气价怎么算 {word}"
    unit = await people.page("handler.qingxiu")
    article_id = await _draft(unit, title, "第一档每立方米 2.98 元。", review_by=yesterday)
    for username, step in (("handler.qingxiu", "submit"), ("division.east", "approve"), ("center.zhou", "publish")):
        answer = await hotline.api(username, "knowledge", "POST", f"/api/v1/articles/{article_id}/{step}", json={})
        assert answer.status_code == 200, answer.text

    # past its review-by date: listed for its owners, flagged to agents
    await unit.goto("/knowledge")
    await expect(unit.locator(f"#kb-stale tr[data-article='{article_id}']")).to_contain_text("possibly out of date")
    agent = await people.page("agent.wang")
    await agent.goto("/work-orders/new")
    panel = agent.locator("#kb-panel-form")
    await panel.get_by_label("Search the knowledge base").fill(f"阶梯气价 {word}")
    await panel.get_by_role("button", name="Search").click()
    await expect(panel.locator(f"li[data-article='{article_id}']")).to_contain_text("possibly out of date")

    # the unit starts a new version; the live one stays live; the history shows what changed
    await unit.goto(f"/knowledge/{article_id}")
    await unit.get_by_role("button", name="Start a new version").click()
    await unit.wait_for_url(f"**/knowledge/{article_id}/edit")
    await unit.get_by_label("Text (Markdown)").fill("第一档每立方米 2.98 元。\n\n第二档每立方米 3.58 元。")
    await unit.get_by_role("button", name="Save the draft").click()
    await expect(unit.locator("#kb-status")).to_have_text("Draft")
    live = await _article_api(hotline, "agent.wang", article_id)
    assert live["current"]["version"] == 1 and live["status"] == "published"
    await unit.get_by_role("link", name="Version history").click()
    await expect(unit.locator("#kb-versions tbody tr")).to_have_count(2)
    await expect(unit.locator("#kb-diff ins", has_text="第二档每立方米 3.58 元")).to_have_count(1)
    await expect(unit.locator("#kb-diff del")).to_have_count(0)

    # the center retires it: a reason is required, beside its input
    center = await people.page("center.zhou")
    await center.goto(f"/knowledge/{article_id}")
    await center.get_by_role("button", name="Retire").click()
    await expect(center.locator("#reason-error")).to_be_visible()
    await center.get_by_label("Why it is retired").fill("气价已调整，以新公告为准")
    await center.get_by_role("button", name="Retire").click()
    await expect(center.locator("#kb-status")).to_have_text("Retired")
    await expect(center.locator("main")).to_contain_text("气价已调整，以新公告为准")
    answer = await hotline.api("agent.wang", "knowledge", "GET", "/api/v1/search", params={"q": f"阶梯气价 {word}"})
    assert article_id not in [h["article_id"] for h in answer.json()["hits"]]

    # a unit reports a need; the center sees it
    await unit.goto("/knowledge/needs")
    need = f"天然气置换后多久能用 {word}"
    await unit.get_by_label("The question customers ask").fill(need)
    await unit.get_by_role("button", name="Send the need").click()
    await expect(unit.locator("#kb-need-sent")).to_be_visible()
    await center.goto("/knowledge/needs")
    await expect(center.locator("#kb-needs")).to_contain_text(need)


async def test_the_knowledge_pages_have_no_critical_accessibility_violation(
    chromium: Browser, hotline: BrowserSystem
) -> None:
    assert AXE.is_file(), "axe-core is installed by make setup (package.json)"
    # axe is injected as a script: the test's own profiles let it past the pages' script policy
    context = await chromium.new_context(base_url=hotline.console_url, locale="en-US", bypass_csp=True)
    other = await chromium.new_context(base_url=hotline.console_url, locale="en-US", bypass_csp=True)
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        unit = await context.new_page()
        await sign_in(unit, hotline, "handler.qingxiu")
        await unit.goto("/knowledge/new")
        await unit.get_by_label("Text (Markdown)").fill("## 标题\n\n- 一\n- 二")
        await expect(unit.locator("#kb-preview h2")).to_be_visible()
        found["new article"] = await critical_violations(unit)
        await unit.get_by_role("button", name="Save the draft").click()  # no title: errors beside the fields
        await expect(unit.locator("#error-summary")).to_be_visible()
        found["article errors"] = await critical_violations(unit)
        article_id = await _draft(unit, f"无障碍检查 {marker()}", "正文")
        found["article"] = await critical_violations(unit)
        await unit.goto("/knowledge")
        found["knowledge home"] = await critical_violations(unit)
        await unit.goto("/knowledge/needs")
        found["needs"] = await critical_violations(unit)
        await unit.goto(f"/knowledge/{article_id}/history")
        found["history"] = await critical_violations(unit)
        center = await other.new_page()
        await sign_in(center, hotline, "center.zhou")
        await center.goto("/knowledge/review")
        found["publish queue"] = await critical_violations(center)
        await center.goto("/knowledge/needs")
        found["improvement"] = await critical_violations(center)
        await center.goto("/work-orders/new")
        panel = center.locator("#kb-panel-form")
        await panel.get_by_label("Search the knowledge base").fill("燃气表不走字")
        await panel.get_by_role("button", name="Search").click()
        await expect(panel.locator(".kb-hits, .kb-none")).to_be_visible()
        found["work order with knowledge"] = await critical_violations(center)
    finally:
        await context.close()
        await other.close()
    assert {name: v for name, v in found.items() if v} == {}
