"""The reporting service's use cases: area notices (center, agents), the consumer's projection of the topics."""

from services.reporting.handlers.figures import as_csv, figures, scoped
from services.reporting.handlers.notices import NoticeContext, area_notices, register_interruption
from services.reporting.handlers.projection import RulesOf, apply_events

__all__ = [
    "NoticeContext",
    "RulesOf",
    "apply_events",
    "area_notices",
    "as_csv",
    "figures",
    "register_interruption",
    "scoped",
]
