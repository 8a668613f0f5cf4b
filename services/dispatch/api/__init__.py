"""The dispatch HTTP API, by actor: reading tickets, the unit's actions, the center's, the org tree and its admin.

Routes only parse, call a handler (`services.dispatch.handlers`) and present (`present`); `common` holds the
roles, the session and the one-transaction-per-action plumbing every route module uses.
"""

from __future__ import annotations

from services.dispatch.api import center, org, reads, unit
from services.dispatch.api.common import AUDIT, conflict_handler, conflict_response
from shared.auth import SecureRouter, audit_router
from shared.http.deps import db_session


def routers() -> list[SecureRouter]:
    """Every router of the dispatch API (each route declares its roles), and the auditors' view of its audit log."""
    # RULES.md §6: every reveal is audited, and auditors read the records here
    return [reads.router, unit.router, center.router, org.router, audit_router(AUDIT, db_session)]


__all__ = ["AUDIT", "conflict_handler", "conflict_response", "routers"]
