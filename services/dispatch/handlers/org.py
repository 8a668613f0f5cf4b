"""The org admin's edits of the branch's tree (divisions, units, routing rules) and the routing preview."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.handlers.common import field_error
from services.dispatch.routing import (
    OrgConfigError,
    OrgTree,
    RoutingDecision,
    RoutingInput,
    check_new_rule,
    describe_rule,
    route,
    rule_from_mapping,
    validate_org,
)
from services.dispatch.store import OrgNode, RuleRow, load_org, next_rule_position
from services.dispatch.store import delete_rule as delete_rule_row
from shared.errors import NotFound


async def org_or_404(session: AsyncSession, branch: str) -> OrgTree:
    org = await load_org(session, branch)
    if org is None:
        raise NotFound(f"branch {branch} has no org tree")
    return org


async def preview_route(session: AsyncSession, branch: str, request: RoutingInput) -> RoutingDecision:
    """Which unit the rules would choose for a request (nothing is dispatched)."""
    return route(request, await org_or_404(session, branch))


async def put_division(session: AsyncSession, branch: str, division_id: str, *, name: str, active: bool) -> OrgTree:
    org = await org_or_404(session, branch)
    node = await session.get(OrgNode, (branch, division_id))
    if node is not None and node.kind != "division":
        raise field_error("division_id", f"{division_id!r} is a {node.kind}")
    if node is None:
        node = OrgNode(branch=branch, node_id=division_id, kind="division", parent_id=org.center_id)
        session.add(node)
    node.name, node.active = name, active
    return await _after_edit(session, branch)


async def put_unit(
    session: AsyncSession,
    branch: str,
    unit_id: str,
    *,
    name: str,
    division_id: str,
    duty_phone: str | None,
    active: bool,
) -> OrgTree:
    org = await org_or_404(session, branch)
    if division_id not in org.divisions:
        raise field_error("division_id", f"unknown division {division_id!r}")
    node = await session.get(OrgNode, (branch, unit_id))
    if node is not None and node.kind != "unit":
        raise field_error("unit_id", f"{unit_id!r} is a {node.kind}")
    if node is None:
        node = OrgNode(branch=branch, node_id=unit_id, kind="unit")
        session.add(node)
    node.name, node.parent_id, node.duty_phone, node.active = name, division_id, duty_phone, active
    return await _after_edit(session, branch)


async def put_rule(
    session: AsyncSession, branch: str, rule_id: str, definition: Mapping[str, Any], *, position: int | None
) -> OrgTree:
    org = await org_or_404(session, branch)
    try:
        rule = rule_from_mapping(rule_id, definition)
        # an area overlapping another unit's, or a rule to nowhere, is refused (shared/policy/service_areas.py)
        check_new_rule(org, rule)
    except OrgConfigError as error:
        raise field_error(error.field.rsplit(".", 1)[-1], error.message) from None
    row = await session.get(RuleRow, (branch, rule_id))
    if row is None:
        row = RuleRow(branch=branch, rule_id=rule_id, position=await next_rule_position(session, branch))
        session.add(row)
    if position is not None:
        row.position = position
    row.definition = dict(describe_rule(rule))
    return await _after_edit(session, branch)


async def delete_rule(session: AsyncSession, branch: str, rule_id: str) -> OrgTree:
    if not await delete_rule_row(session, branch, rule_id):
        raise NotFound(f"rule {rule_id} not found")
    return await _after_edit(session, branch)


async def _after_edit(session: AsyncSession, branch: str) -> OrgTree:
    """The edited tree must still hold together (every rule names a unit, every unit a division)."""
    await session.flush()
    org = await org_or_404(session, branch)
    try:
        validate_org(org)
    except OrgConfigError as error:
        raise field_error(error.field, error.message) from None
    return org
