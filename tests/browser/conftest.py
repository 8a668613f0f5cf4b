"""Browser stories: the running system (tests/browser/system.py) driven through Debian's Chromium.

Nothing is mocked: sign-in goes through identity, every page through the console to the services. A failed
test leaves a screenshot in test-results/browser/ and the processes' log tails in its report.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.browser.system import BrowserSystem, folders, running_system
from tests.e2e.conftest import _log_tails

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "browser"
# an assertion waits as long as an action (a loaded CI machine takes more than Playwright's 5 s to create a ticket)
expect.set_options(timeout=15_000)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hotline(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BrowserSystem]:
    async with running_system(kafka_bootstrap, database_url, tmp_path_factory.mktemp("hotline-browser")) as system:
        yield system


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """Debian's chromium (the `chromium` package), never a downloaded browser."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def context(chromium: Browser, hotline: BrowserSystem) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile in English (the acceptance checks' locale)."""
    ctx = await chromium.new_context(
        base_url=hotline.console_url, locale="en-US", viewport={"width": 1360, "height": 900}
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    page = await context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    if isinstance(report, pytest.TestReport):
        setattr(item, f"rep_{report.when}", report)
        if report.failed and folders:
            report.sections.append(("service process logs", _log_tails(folders[-1])))
    return report
