"""The reporting service's tables and queries: area notices, the ticket read model, figures, bulletins."""

from services.reporting.store.base import Base, Outbox, ProcessedEvent
from services.reporting.store.bulletins import Bulletin
from services.reporting.store.notices import (
    AreaCall,
    HotSpot,
    PlannedInterruption,
    active_hot_spots,
    active_interruptions,
    call_times,
    hot_spots_showing_after,
)
from services.reporting.store.tickets import ReportClock, ReportFact, ReportTicket, ReportUnit

__all__ = [
    "AreaCall",
    "Base",
    "Bulletin",
    "HotSpot",
    "Outbox",
    "PlannedInterruption",
    "ProcessedEvent",
    "ReportClock",
    "ReportFact",
    "ReportTicket",
    "ReportUnit",
    "active_hot_spots",
    "active_interruptions",
    "call_times",
    "hot_spots_showing_after",
]
