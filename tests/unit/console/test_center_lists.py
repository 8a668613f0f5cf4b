"""The center's list pages (reviews, extensions, supervision) share one way in: supervisors only, refusals shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.console.api import center
from services.console.clients import ApiFailure, Apis
from shared.clock import FixedClock

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


@dataclass
class FakePage:
    """What the list pages read of a page: the role, the token, the app, and a render that records its call."""

    role: str
    rendered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def user(self) -> Any:
        return SimpleNamespace(role=self.role)

    @property
    def token(self) -> str:
        return "token-1"

    @property
    def language(self) -> Any:
        return SimpleNamespace(gettext=lambda text: text)

    @property
    def request(self) -> Any:
        state = SimpleNamespace(console=SimpleNamespace(apis=None, clock=FixedClock(NOW)))
        return SimpleNamespace(app=SimpleNamespace(state=state), query_params={"saved": "granted"})

    def render(self, template: str, **context: Any) -> Any:
        self.rendered.append((template, context))
        return SimpleNamespace(status_code=context.get("status", 200))


async def _items(apis: Apis, token: str) -> list[dict[str, Any]]:
    assert token == "token-1"
    return [{"ticket_id": "T-1"}]


async def _refused(apis: Apis, token: str) -> list[dict[str, Any]]:
    raise ApiFailure(status=503, message="dispatch does not answer")


@pytest.mark.parametrize("role", ["agent", "unit_handler", "division_supervisor"])
async def test_another_role_gets_the_refusal_page(role: str) -> None:
    page = FakePage(role)
    response = await center._list_page(page, "center/extensions.html", "extensions", _items)  # type: ignore[arg-type]
    assert response.status_code == 403 and page.rendered[0][0] == "error.html"


async def test_the_supervisor_sees_the_items_on_the_tab_with_what_was_saved() -> None:
    page = FakePage("center_supervisor")
    await center._list_page(page, "center/reviews.html", "reviews", _items, reject_reasons=("other",))  # type: ignore[arg-type]
    template, context = page.rendered[0]
    assert template == "center/reviews.html" and context["tab"] == "reviews" and context["saved"] == "granted"
    assert context["items"] == [{"ticket_id": "T-1"}] and context["reject_reasons"] == ("other",)


async def test_a_service_refusal_is_shown_with_its_status_and_message() -> None:
    page = FakePage("center_supervisor")
    response = await center._list_page(page, "center/supervision.html", "supervision", _refused)  # type: ignore[arg-type]
    assert response.status_code == 503
    assert page.rendered == [("error.html", {"status": 503, "message": "dispatch does not answer"})]
