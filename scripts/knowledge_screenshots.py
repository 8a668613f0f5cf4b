"""Screenshots of the console's knowledge pages for docs/console/ (issue 19), from a real system.

    .venv/bin/python scripts/knowledge_screenshots.py [--out docs/console] [--locales zh-CN en-US]

Starts every service and the console like the browser tests (tests/browser/system.py), writes, reviews and
publishes articles through the knowledge API, then photographs each knowledge page in Debian's chromium, in
Chinese (`NN-name.png`) and in English (`NN-name-en.png`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.infra.harness import ensure_kafka, ensure_postgres  # noqa: E402
from hotline.infra.postgres import TEST_DATABASE  # noqa: E402
from hotline.infra.settings import InfraSettings  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.system import BrowserSystem, running_system  # noqa: E402

METER = {
    "title": "燃气表不走字怎么办",
    "category": "consultation",
    "tags": ["燃气表", "不走字"],
    "body": "## 先自查\n\n1. 确认表前阀门已完全打开\n2. 确认灶具、热水器正在用气\n3. 查看表的字轮是否转动\n\n"
    "仍不走字：**不要自行拆表**，为用户登记报修，由服务站上门检查。\n\n| 情况 | 处理 |\n|---|---|\n"
    "| 阀门未开 | 指导用户打开 |\n| 表坏 | 登记报修 |",
}
PRICE = {
    "title": "阶梯气价怎么算",
    "category": "query",
    "tags": ["气价", "阶梯"],
    "body": "居民用气按年累计用量分三档计价。\n\n- 第一档：每立方米 2.98 元",
}


def expect_status(response: Any, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")


async def publish(system: BrowserSystem, fields: dict[str, Any]) -> str:
    made = await system.api("handler.qingxiu", "knowledge", "POST", "/api/v1/articles", json=fields)
    expect_status(made, 201)
    article_id = str(made.json()["article_id"])
    for username, step in (("handler.qingxiu", "submit"), ("division.east", "approve"), ("center.zhou", "publish")):
        answer = await system.api(username, "knowledge", "POST", f"/api/v1/articles/{article_id}/{step}", json={})
        expect_status(answer, 200)
    return article_id


async def prepare(system: BrowserSystem) -> dict[str, str]:
    """Published articles (one past its review-by date, one with a second version), a draft waiting, needs."""
    meter = await publish(system, METER)
    yesterday = (system.now() - timedelta(days=1)).date().isoformat()
    price = await publish(system, {**PRICE, "review_by": yesterday})
    answer = await system.api("handler.qingxiu", "knowledge", "POST", f"/api/v1/articles/{price}/new-version", json={})
    expect_status(answer, 200)
    second = {**PRICE, "body": str(PRICE["body"]) + "\n- 第二档：每立方米 3.58 元\n- 第三档：每立方米 4.47 元"}
    answer = await system.api("handler.qingxiu", "knowledge", "PUT", f"/api/v1/articles/{price}/draft", json=second)
    expect_status(answer, 200)
    waiting = await system.api(
        "handler.qingxiu",
        "knowledge",
        "POST",
        "/api/v1/articles",
        json={"title": "燃气热水器打不着火", "category": "repair", "body": "先检查电池和燃气阀门。"},
    )
    expect_status(waiting, 201)
    waiting_id = str(waiting.json()["article_id"])
    answer = await system.api("handler.qingxiu", "knowledge", "POST", f"/api/v1/articles/{waiting_id}/submit", json={})
    expect_status(answer, 200)
    for question in ("壁挂炉显示E1代码", "壁挂炉显示E1代码", "燃气报警器一直响"):
        await system.api("agent.li", "knowledge", "GET", "/api/v1/search", params={"q": question})
    await system.api("handler.qingxiu", "knowledge", "POST", "/api/v1/needs", json={"text": "天然气置换后多久能用"})
    return {"meter": meter, "price": price, "waiting": waiting_id}


async def shoot(page: Page, out: Path, name: str, suffix: str) -> None:
    await page.wait_for_timeout(600)
    await page.screenshot(path=str(out / f"{name}{suffix}.png"), full_page=True)


async def signed_in(browser: Browser, system: BrowserSystem, locale: str, username: str) -> Page:
    context = await browser.new_context(
        base_url=system.console_url, locale=locale, viewport={"width": 1360, "height": 900}
    )
    page = await context.new_page()
    await page.goto("/")
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(system.passwords[username])
    await page.locator("form[action='/sign-in'] button").click()
    await page.wait_for_url("**/home")
    return page


async def tour(browser: Browser, system: BrowserSystem, ids: dict[str, str], locale: str, out: Path) -> None:
    suffix = "" if locale.startswith("zh") else "-en"
    extension = "8051" if suffix == "" else "8052"
    agent = await signed_in(browser, system, locale, "agent.li")
    await agent.locator("#extension").fill(extension)
    await agent.locator("form[action='/extension'] button").click()
    await agent.wait_for_url("**/home")
    await agent.wait_for_timeout(800)
    for _ in range(5):  # the page's event stream may open late on a busy machine: ring again until it pops
        call_id = await system.ring("13800001001", extension)
        panel = agent.locator(f"#pop-{call_id} #kb-panel-pop")
        try:
            await panel.wait_for(timeout=8000)
            break
        except PlaywrightTimeout:
            continue
    await panel.locator("input[name=q]").fill("燃气表不走字")
    await panel.locator("button[type=submit]").click()
    await panel.locator(f"li[data-article='{ids['meter']}'] button").first.click()
    await panel.locator(".kb-read-card").wait_for()
    await shoot(agent, out, "09-knowledge-call-pop-search", suffix)

    await panel.locator(f"li[data-article='{ids['meter']}'] a.button").click()
    await agent.wait_for_url("**/work-orders/new**")
    await agent.locator("#category").select_option("consultation")
    await agent.wait_for_timeout(700)
    await agent.locator("#description").fill("用户反映燃气表不走字")
    await agent.locator("#resolve_on_call").check()
    await agent.locator("#answer").fill("已指导用户打开表前阀门，燃气表恢复走字")
    form_panel = agent.locator("#kb-panel-form")
    await form_panel.locator("input[name=q]").fill("阶梯气价")
    await form_panel.locator("button[type=submit]").click()
    await form_panel.locator(".kb-hit").first.wait_for()
    await shoot(agent, out, "10-knowledge-work-order-attached", suffix)
    await agent.locator("#work-order button[type=submit]").click()
    await agent.wait_for_url("**/tickets/**")
    for _ in range(20):
        if await agent.locator("#kb-feedback").count():
            break
        await agent.wait_for_timeout(1000)
        await agent.reload()
    await shoot(agent, out, "11-knowledge-ticket-feedback", suffix)

    unit = await signed_in(browser, system, locale, "handler.qingxiu")
    await unit.goto("/knowledge/new")
    await unit.locator("#title").fill("燃")
    await unit.locator("#category").select_option("consultation")
    await unit.locator("#tags").fill("燃气表, 抄表")
    await unit.locator("#body").fill(str(METER["body"]))
    await unit.locator("#kb-article-form button[type=submit]").click()
    await unit.locator("#kb-preview h2").wait_for()
    await shoot(unit, out, "12-knowledge-article-editor-error", suffix)
    await unit.goto("/knowledge")
    await shoot(unit, out, "13-knowledge-home-unit", suffix)
    await unit.goto(f"/knowledge/{ids['price']}/history")
    await shoot(unit, out, "14-knowledge-history-diff", suffix)

    division = await signed_in(browser, system, locale, "division.east")
    await division.goto("/knowledge/review")
    await shoot(division, out, "15-knowledge-review-queue", suffix)
    await division.goto(f"/knowledge/{ids['waiting']}")
    await shoot(division, out, "16-knowledge-article-review", suffix)

    center = await signed_in(browser, system, locale, "center.zhou")
    await center.goto(f"/knowledge/{ids['meter']}")
    await shoot(center, out, "17-knowledge-article-published", suffix)
    await center.goto("/knowledge/needs")
    await shoot(center, out, "18-knowledge-needs-and-least-helpful", suffix)


async def main(out: Path, locales: list[str]) -> None:
    infra = InfraSettings()
    bootstrap, _ = ensure_kafka(infra)
    database_url, _ = ensure_postgres(infra, database=TEST_DATABASE)
    with tempfile.TemporaryDirectory(prefix="knowledge-shots-") as folder:
        async with running_system(bootstrap, database_url, Path(folder)) as system, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ids = await prepare(system)
            for locale in locales:
                await tour(browser, system, ids, locale, out)
            await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    parser.add_argument("--locales", nargs="+", default=["zh-CN", "en-US"])
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(arguments.out, arguments.locales))
