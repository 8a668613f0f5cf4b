"""What a work order points at must exist (issue 13): its unit (dispatch's org tree), its parent ticket and its
customer (intake's own records); and which unit the routing rules give a request the agent named no unit for.

The org tree is dispatch's (its admin API edits it at run time), so intake asks dispatch's API with the caller's
own credentials: `GET /api/v1/org` for the units, `POST /api/v1/org/route-preview` for a routing decision. When
dispatch does not answer, a unit id cannot be checked here (dispatch still queues a ticket whose unit it does not
know for the center) and a request stays unrouted: intake never refuses a call because another service is down.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.store import Customer, Ticket
from services.intake.validation import FieldErrors

log = structlog.get_logger(__name__)

Credentials = Mapping[str, str]  # the caller's own Authorization / X-API-Key headers, passed on to dispatch


@dataclass(frozen=True)
class RouteQuery:
    category: str
    subtype: str | None
    district: str | None
    community: str | None
    address: str | None


@dataclass(frozen=True)
class RouteAnswer:
    unit_id: str | None  # None: no rule decides, the center dispatches it by hand
    rule_id: str | None
    detail: str


class Directory(Protocol):
    """The branch's org tree and routing rules as dispatch serves them."""

    async def unit_ids(self, branch: str, credentials: Credentials) -> frozenset[str] | None: ...

    async def route(self, query: RouteQuery, credentials: Credentials) -> RouteAnswer | None: ...


class DispatchDirectory:
    """Dispatch's org API over HTTP; the unit list is kept `ttl` seconds per branch."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 3.0,
        ttl: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._ttl = ttl
        self._transport = transport
        self._units: dict[str, tuple[float, frozenset[str]]] = {}

    async def _call(self, method: str, path: str, credentials: Credentials, body: Any = None) -> Any | None:
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout, transport=self._transport
            ) as client:
                response = await client.request(method, path, headers=dict(credentials), json=body)
        except httpx.HTTPError as error:
            log.warning("dispatch_directory_unreachable", path=path, error=repr(error))
            return None
        if response.status_code != 200:
            log.warning("dispatch_directory_refused", path=path, status=response.status_code)
            return None
        return response.json()

    async def unit_ids(self, branch: str, credentials: Credentials) -> frozenset[str] | None:
        cached = self._units.get(branch)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        org = await self._call("GET", "/api/v1/org", credentials)
        if not isinstance(org, dict) or org.get("branch") != branch:
            return None
        units = frozenset(u["unit_id"] for d in org.get("divisions", []) for u in d.get("units", []))
        self._units[branch] = (time.monotonic(), units)
        return units

    async def route(self, query: RouteQuery, credentials: Credentials) -> RouteAnswer | None:
        body = {k: v for k, v in query.__dict__.items() if v is not None}
        decision = await self._call("POST", "/api/v1/org/route-preview", credentials, body)
        if not isinstance(decision, dict):
            return None
        unit = decision.get("unit_id") if decision.get("routed") else None
        return RouteAnswer(unit, decision.get("rule_id"), str(decision.get("detail", "")))


def credentials_of(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's credentials to act on its behalf at dispatch (never logged)."""
    found = {name: headers[name] for name in ("authorization", "x-api-key") if name in headers}
    return {"Authorization" if k == "authorization" else "X-API-Key": v for k, v in found.items()}


async def check_references(
    session: AsyncSession,
    errors: FieldErrors,
    branch: str,
    *,
    directory: Directory | None,
    credentials: Credentials,
    units: Mapping[str, str | None] = {},
    parent_ticket_id: str | None = None,
    customer_id: str | None = None,
    customer_path: str = "customer.customer_id",
) -> None:
    """A 422 naming each field whose reference points nowhere in the branch."""
    if parent_ticket_id is not None:
        parent = await session.get(Ticket, parent_ticket_id)
        if parent is None or parent.branch != branch:
            errors.add("parent_ticket_id", f"no ticket {parent_ticket_id} in branch {branch}")
    if customer_id is not None:
        customer = await session.get(Customer, customer_id)
        if customer is None or customer.branch != branch:
            errors.add(customer_path, f"no customer {customer_id} in branch {branch}")
    named = {path: unit for path, unit in units.items() if unit is not None}
    if named and directory is not None:
        known = await directory.unit_ids(branch, credentials)
        for path, unit in named.items():
            if known is not None and unit not in known:
                errors.add(path, f"no unit {unit} in branch {branch}'s org tree")
