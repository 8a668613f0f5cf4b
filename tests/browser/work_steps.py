"""Steps of the stories after dispatch (issue 17): tickets made through intake's API, people's homes, photos."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize

from tests.browser.steps import eventually, marker, mobile
from tests.browser.system import BrowserSystem

PHONE: ViewportSize = {"width": 390, "height": 844}
HOMES = {
    "handler.qingxiu": "/unit",
    "handler.xingning": "/unit",
    "center.zhou": "/center",
    "lead.chen": "/center",
    "division.east": "/division",
    "division.west": "/division",
    "admin.org": "/org",
}
ADDRESSES = {"青秀区": "广西壮族自治区南宁市青秀区七星路{n}号", "兴宁区": "广西壮族自治区南宁市兴宁区朝阳路{n}号"}


async def phone_context(chromium: Browser, hotline: BrowserSystem, locale: str = "en-US") -> BrowserContext:
    """A phone: 390×844, touch, English by default (the acceptance checks' locale)."""
    ctx = await chromium.new_context(
        base_url=hotline.console_url,
        locale=locale,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    ctx.set_default_timeout(15_000)
    return ctx


async def sign_in_as(page: Page, hotline: BrowserSystem, username: str) -> None:
    """Sign in; the person lands on their role's own home."""
    await page.goto("/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(hotline.passwords[username])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**{HOMES[username]}")


async def repair(hotline: BrowserSystem, district: str = "青秀区", description: str = "") -> dict[str, str]:
    """A repair created at intake by an agent, dispatched by the rules to the district's unit."""
    text = description or f"灶具打不着火 {marker()}"
    body: dict[str, Any] = {
        "category": "repair",
        "description": text,
        "customer": {"name": "吴测试", "phone": mobile(), "address": ADDRESSES[district].format(n=len(text))},
        "location": {"district": district},
        "callback": {"mode": "required"},
    }
    answer = await hotline.api("agent.li", "intake", "POST", "/api/v1/tickets", json=body)
    assert answer.status_code in (200, 201), answer.text
    created = answer.json()
    await hotline.events.wait_for(created["ticket_id"], "TicketDispatched")
    return {"ticket_id": created["ticket_id"], "number": created["ticket_number"], "phone": body["customer"]["phone"]}


async def unit_does(hotline: BrowserSystem, username: str, ticket_id: str, action: str, body: Any = None) -> None:
    """The unit acts through dispatch's API (as its app would), retried until dispatch has the ticket's state."""

    async def act() -> bool:
        answer = await hotline.api(username, "dispatch", "POST", f"/api/v1/tickets/{ticket_id}/{action}", json=body)
        assert answer.status_code in (200, 201), answer.text
        return True

    await eventually(act, what=f"{username} {action}")


async def dispatch_view(hotline: BrowserSystem, username: str, ticket_id: str) -> dict[str, Any]:
    answer = await hotline.api(username, "dispatch", "GET", f"/api/v1/tickets/{ticket_id}")
    assert answer.status_code == 200, answer.text
    ticket: dict[str, Any] = answer.json()
    return ticket


def camera_photo(width: int = 3000, height: int = 2250) -> bytes:
    """A JPEG as a phone's camera takes it (3000×2250, about 4 MB of noise-like detail)."""
    image = Image.effect_noise((width, height), 64).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
