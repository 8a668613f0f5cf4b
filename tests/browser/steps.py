"""What people do in the console, as Playwright steps (English labels: the acceptance contract)."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from playwright.async_api import Page, expect

from tests.browser.system import BrowserSystem

T = TypeVar("T")


def mobile() -> str:
    return f"139{random.randrange(10**8):08d}"


def marker() -> str:
    """A word no other story uses, to find this story's tickets."""
    return f"br{uuid.uuid4().hex[:10]}"


async def sign_in(page: Page, hotline: BrowserSystem, username: str = "agent.li") -> None:
    await page.goto("/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(hotline.passwords[username])
    await page.get_by_role("button", name="Sign in").click()
    # each role lands on its own home (issue 17): agents on /home, the center on /center, ...
    await page.wait_for_url(re.compile(r".*/(home|unit|center|division|org)$"))


async def choose_category(page: Page, category: str) -> None:
    """Pick the category; the form's fields change with it (htmx swaps them)."""
    await page.get_by_label("Category").select_option(category)
    await expect(page.locator("#fields")).to_have_attribute("data-category", category)


async def fill(page: Page, **values: str) -> None:
    labels = {
        "description": "Description",
        "name": "Customer name",
        "phone": "Phone",
        "address": "Address",
        "district": "District",
    }
    for key, value in values.items():
        await page.get_by_label(labels[key], exact=False).fill(value)


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 60.0, what: str = "") -> T:
    deadline = asyncio.get_running_loop().time() + within
    last: Any = None
    while True:
        try:
            value = await probe()
            if value:
                return value
            last = value
        except AssertionError as error:
            last = error
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within:.0f} s: {what} ({last})")
        await asyncio.sleep(0.5)


async def tickets_with(hotline: BrowserSystem, **params: str) -> list[dict[str, Any]]:
    """Tickets as intake's API returns them to the agent (the truth the pages must show)."""
    response = await hotline.api("agent.li", "intake", "GET", "/api/v1/tickets", params=params)
    assert response.status_code == 200, response.text
    tickets: list[dict[str, Any]] = response.json()["tickets"]
    return tickets
