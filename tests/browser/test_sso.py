"""Single sign-on from the console's sign-in page through identity and a real Keycloak, back to a console session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from hotline.infra.keycloak import KeycloakProcess, fetch
from hotline.infra.process import InfraError
from hotline.infra.settings import InfraSettings
from tests.browser.steps import eventually
from tests.browser.system import BrowserSystem
from tests.conftest import cannot_start
from tests.e2e.conftest import _free_port
from tests.integration.identity.test_oidc_keycloak import CLIENT_SECRET, REALM, realm

pytestmark = pytest.mark.asyncio(loop_scope="session")

USERS = {
    "li.sso": ("li's long sso passphrase", ["/hotline/agents"]),
    "cook.sso": ("the cook's long passphrase", ["/canteen"]),
}


@pytest.fixture(scope="module")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeycloakProcess]:
    folder = tmp_path_factory.mktemp("keycloak-console")
    try:
        server = KeycloakProcess(
            fetch(InfraSettings()), _free_port(), folder / "keycloak.log", secrets.token_urlsafe(16)
        )
        server.start(timeout=600)  # a loaded machine needs minutes for its first start
    except InfraError as error:
        cannot_start("Keycloak", error)  # fails under CI=true, like the broker and the database
        raise
    try:
        for attempt in range(4):
            try:  # a JVM just started on a loaded machine may not answer its first admin calls within 30 s
                server.import_realm(realm(USERS))
                break
            except httpx.TimeoutException:
                if attempt == 3:
                    raise
            except InfraError as refused:
                if "409" not in str(refused):  # a timed-out earlier import did create the realm
                    raise
                break
        yield server
    finally:
        server.stop()


async def _branch_has_sso(hotline: BrowserSystem, keycloak: KeycloakProcess) -> None:
    settings = {
        "oidc_issuer": f"{keycloak.url}/realms/{REALM}",
        "oidc_client_id": "hotline-identity",
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_mapping": {"roles": {"/hotline/agents": "agent"}},
    }
    put = await hotline.api("admin.demo", "identity", "PUT", "/api/v1/branches/demo/sign-in", json=settings)
    assert put.status_code == 204, put.text


async def _through_keycloak(page: Page, username: str) -> None:
    await page.goto("/")
    await page.get_by_role("link", name="Sign in with single sign-on").click()
    await page.locator("#kc-form-login").wait_for()  # Keycloak's own login page
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(USERS[username][0])
    await page.locator("#kc-login").click()


async def test_single_sign_on_through_keycloak_opens_a_console_session(
    page: Page, hotline: BrowserSystem, keycloak: KeycloakProcess, chromium: Browser
) -> None:
    await page.goto("/")
    await expect(page.get_by_label("Username")).to_be_visible()
    await _branch_has_sso(hotline, keycloak)

    async def button_shown() -> bool:  # the console asks identity again after at most 30 s
        await page.goto("/")
        return await page.get_by_role("link", name="Sign in with single sign-on").count() == 1

    await eventually(button_shown, within=45, what="the SSO button")
    await _through_keycloak(page, "li.sso")
    await page.wait_for_url("**/home")
    await expect(page.locator(".who")).to_contain_text("li.sso · agent")
    await expect(page.get_by_role("link", name="New work order")).to_be_visible()
    # the console's session works like a password one: a page through the services, then sign out
    await page.get_by_role("link", name="Search").first.click()
    await expect(page.get_by_label("Ticket number")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Username")).to_be_visible()

    # a directory account without a hotline group gets no session, and the page says why (signing out of the
    # console leaves the directory's own session: another person at this browser starts from fresh cookies)
    await page.context.clear_cookies()
    await _through_keycloak(page, "cook.sso")
    await expect(page.locator(".error-summary")).to_contain_text("no role in the hotline")
    await page.goto("/home")
    await expect(page.get_by_label("Username")).to_be_visible()

    # a return link not started in this browser (someone else's code and state) signs nobody in
    other = await chromium.new_context(base_url=hotline.console_url, locale="en-US")
    try:
        stranger = await other.new_page()
        await stranger.goto("/api/v1/auth/oidc/callback?code=someone-elses&state=someone-elses")
        await expect(stranger.locator(".error-summary")).to_contain_text("not started here")
        await stranger.goto("/home")
        await expect(stranger.get_by_label("Username")).to_be_visible()
    finally:
        await other.close()
