"""`POST /api/v1/policies/reload`: read the working-day calendar and the branch files again, without a restart.

The one reload of the one `BranchPolicies` cache (shared/branch_config.py) for a service whose app keeps it in
`app.state.policies`; the SLA monitor's `/calendar/reload` also moves its open timers' deadlines.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel

from shared.auth import Principal, Role, SecureRouter, require_roles
from shared.http.deps import Policies


class PoliciesReloaded(BaseModel):
    status: str
    calendar_years: list[int]


def policies_reload_router() -> SecureRouter:
    router = SecureRouter(prefix="/api/v1", tags=["admin"])

    @router.post("/policies/reload", response_model=PoliciesReloaded)
    async def reload_policies(
        principal: Annotated[Principal, require_roles(Role.ADMIN)], policies: Policies
    ) -> PoliciesReloaded:
        """RULES.md §3: a year's schedule or a branch file was added or changed: use it from the next request on."""
        return PoliciesReloaded(status="reloaded", calendar_years=list(policies.reload()))

    return router
