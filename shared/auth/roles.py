"""The roles of the hotline and the relations between a principal and a ticket."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who is calling an API; one role per token or API key."""

    AGENT = "agent"
    UNIT_HANDLER = "unit_handler"
    DIVISION_SUPERVISOR = "division_supervisor"
    CENTER_SUPERVISOR = "center_supervisor"
    ADMIN = "admin"
    AUDITOR = "auditor"
    # machine clients: the CTI adapter, the 12345 gateway
    INTEGRATION = "integration"


ALL_ROLES: frozenset[Role] = frozenset(Role)
# Humans who work tickets; the integration and audit roles never do.
TICKET_WORKERS: frozenset[Role] = frozenset(
    {Role.AGENT, Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR}
)
