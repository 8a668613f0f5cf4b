"""The branch's org tree: reading it, previewing a routing decision, and the admin's edits."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.api.common import Admin, OrgReader, Previewer, in_transaction
from services.dispatch.api.present import org_out
from services.dispatch.handlers import DispatchContext
from services.dispatch.handlers import org as org_admin
from services.dispatch.routing import RoutingInput
from services.dispatch.schemas import DivisionIn, OrgOut, RouteDecisionOut, RoutePreviewIn, RuleIn, UnitIn
from shared.auth import SecureRouter
from shared.http.deps import Session
from shared.http.responses import OrgJSONResponse

router = SecureRouter(prefix="/api/v1")


@router.get("/org", response_model=OrgOut, response_class=OrgJSONResponse, tags=["org"])
async def read_org(request: Request, session: Session, principal: OrgReader) -> OrgOut:
    """The caller's branch: center, divisions, units (agents pick the unit from here) and rules."""
    return org_out(await org_admin.org_or_404(session, principal.branch))


@router.post("/org/route-preview", response_model=RouteDecisionOut, tags=["org"])
async def route_preview(
    body: RoutePreviewIn, request: Request, session: Session, principal: Previewer
) -> RouteDecisionOut:
    """Which unit the rules would choose for a request (nothing is dispatched)."""
    asked = RoutingInput(body.category, body.subtype, body.district, body.community, body.address, body.unit_id)
    decision = await org_admin.preview_route(session, principal.branch, asked)
    return RouteDecisionOut(
        routed=decision.routed,
        unit_id=decision.unit_id,
        division_id=decision.division_id,
        rule_id=decision.rule_id,
        unroutable=decision.unroutable,
        detail=decision.detail,
        candidates=list(decision.candidates),
    )


@router.put("/admin/org/divisions/{division_id}", response_model=OrgOut, response_class=OrgJSONResponse, tags=["admin"])
async def put_division(
    division_id: str, body: DivisionIn, request: Request, session: Session, principal: Admin
) -> OrgOut:
    async def work(session: AsyncSession, ctx: DispatchContext) -> OrgOut:
        edited = await org_admin.put_division(
            session, principal.branch, division_id, name=body.name, active=body.active
        )
        return org_out(edited)

    return await in_transaction(request, session, None, work)


@router.put("/admin/org/units/{unit_id}", response_model=OrgOut, response_class=OrgJSONResponse, tags=["admin"])
async def put_unit(unit_id: str, body: UnitIn, request: Request, session: Session, principal: Admin) -> OrgOut:
    async def work(session: AsyncSession, ctx: DispatchContext) -> OrgOut:
        edited = await org_admin.put_unit(
            session,
            principal.branch,
            unit_id,
            name=body.name,
            division_id=body.division_id,
            duty_phone=body.duty_phone,
            active=body.active,
        )
        return org_out(edited)

    return await in_transaction(request, session, None, work)


@router.put("/admin/org/rules/{rule_id}", response_model=OrgOut, response_class=OrgJSONResponse, tags=["admin"])
async def put_rule(rule_id: str, body: RuleIn, request: Request, session: Session, principal: Admin) -> OrgOut:
    async def work(session: AsyncSession, ctx: DispatchContext) -> OrgOut:
        definition = body.model_dump(mode="json", exclude={"position"})
        edited = await org_admin.put_rule(session, principal.branch, rule_id, definition, position=body.position)
        return org_out(edited)

    return await in_transaction(request, session, None, work)


@router.delete("/admin/org/rules/{rule_id}", response_model=OrgOut, response_class=OrgJSONResponse, tags=["admin"])
async def delete_rule(rule_id: str, request: Request, session: Session, principal: Admin) -> OrgOut:
    async def work(session: AsyncSession, ctx: DispatchContext) -> OrgOut:
        return org_out(await org_admin.delete_rule(session, principal.branch, rule_id))

    return await in_transaction(request, session, None, work)
