"""The reporting API: routes only (parse, call a handler, present)."""

from __future__ import annotations

from services.reporting.api.notices import router as notices_router
from shared.auth import SecureRouter


def routers() -> list[SecureRouter]:
    return [notices_router()]
