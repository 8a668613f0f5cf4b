"""What every reporting route shares: the roles, the relay nudge."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request

from shared.auth import Principal, Role, require_roles

# the people who take calls (agents) and the center that watches them
CallTaker = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR)]
Center = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR)]
# supervision figures: the center sees its branch, a division its own units (RULES.md §7)
Supervisor = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR, Role.AUDITOR)]


def committed(request: Request) -> None:
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        relay.notify()
