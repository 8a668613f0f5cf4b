"""The reporting API: routes only (parse, call a handler, present)."""

from __future__ import annotations

from services.reporting.api.assessment import router as assessment_router
from services.reporting.api.bulletins import router as bulletins_router
from services.reporting.api.figures import router as figures_router
from services.reporting.api.notices import router as notices_router
from shared.auth import SecureRouter


def routers() -> list[SecureRouter]:
    return [notices_router(), figures_router(), bulletins_router(), assessment_router()]
