"""The product's own documentation: nothing outside the repository, links that resolve, API calls that exist."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from shared.runtime import API_PORTS, CONSOLE_PORT, WORKER_PORTS

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
URL = re.compile(r"http://127\.0\.0\.1:(\d{4})(/[^\s'\"`)<>,]*)?")


def _routes_of(routers: Iterable[object]) -> set[str]:
    return {route.path for router in routers for route in getattr(router, "routes", []) if isinstance(route, APIRoute)}


def api_paths() -> dict[int, set[str]]:
    from services.callback.api import routers as callback_routers
    from services.console.api import routers as console_routers
    from services.dispatch.api import routers as dispatch_routers
    from services.identity.api import routers as identity_routers
    from services.identity.sso_api import sso
    from services.intake.api import calls, customers, tickets
    from services.knowledge.api import routers as knowledge_routers
    from services.outbound.api import build_router as outbound_router
    from services.outbound.self_service_api import build_self_service_router
    from services.reporting.api import routers as reporting_routers
    from services.sla_monitor.api import router as sla_router

    common = {"/health/live", "/health/ready", "/metrics", "/docs", "/openapi.json"}
    return {
        API_PORTS["intake"]: _routes_of([tickets, customers, calls]) | common,
        API_PORTS["dispatch"]: _routes_of(dispatch_routers()) | common,
        API_PORTS["sla_monitor"]: _routes_of([sla_router]) | common,
        API_PORTS["callback"]: _routes_of(callback_routers()) | common,
        API_PORTS["identity"]: _routes_of([*identity_routers(), sso]) | common,
        API_PORTS["knowledge"]: _routes_of(knowledge_routers()) | common,
        API_PORTS["reporting"]: _routes_of(reporting_routers()) | common,
        API_PORTS["outbound"]: _routes_of([outbound_router(), build_self_service_router()]) | common,
        CONSOLE_PORT: _routes_of(console_routers) | common,
        **{port: common for service, port in WORKER_PORTS.items() if service != "sla_monitor"},
    }


def _matches(template: str, path: str) -> bool:
    pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
    return re.fullmatch(pattern, path) is not None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_points_outside_the_product(page: Path) -> None:
    text = page.read_text()
    assert "../shared" not in text and "RULES.md" not in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name}: {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_local_api_call_names_a_real_port_and_route(page: Path) -> None:
    routes = api_paths()
    for port_text, raw in URL.findall(page.read_text()):
        port = int(port_text)
        assert port in routes, f"{page.name}: port {port} is in no process of hotline up"
        if not raw or raw == "/":
            continue
        path = re.sub(r"\$\{?[A-Z_]+\}?", "X", raw.split("?", 1)[0].rstrip("."))
        assert any(_matches(t, path) for t in routes[port]), f"{page.name}: {raw} is no route on port {port}"


def test_the_rules_page_cites_the_regulation_in_every_section() -> None:
    sections = re.split(r"^## ", (ROOT / "docs" / "rules.md").read_text(), flags=re.M)[1:]
    for section in sections:
        if section.startswith("Where each rule is coded"):
            continue
        assert re.search(r"§\d+", section), section.splitlines()[0]


def test_the_cti_format_lives_in_docs() -> None:
    assert "CallOffered" in (ROOT / "docs" / "cti.md").read_text()
    assert "docs/cti.md" in (ROOT / "services" / "intake" / "CTI.md").read_text()
