"""The console's use cases: sign-in, work orders, the ticket page, search, the call pop, the callback desk.

Each takes the signed-in user's token and the APIs, calls the service that owns the data and returns what
the page shows; every authorisation decision stays in that service (DESIGN.md: backend for the browser).
"""

from __future__ import annotations

from services.console.handlers.call_pop import CallPop, call_pop
from services.console.handlers.callbacks import (
    outcome_body,
)
from services.console.handlers.common import OPEN_STATUSES_CLOSED
from services.console.handlers.sign_in import (
    Claims,
    fresh_token,
    read_claims,
    sign_in,
    sign_out,
)
from services.console.handlers.tickets import (
    Criteria,
    TicketPage,
    clock_rows,
    search,
    ticket_page,
)
from services.console.handlers.work_orders import (
    FormResult,
    PlannedTicket,
    alarm_body,
    create_work_order,
    gov_tasks,
    open_duplicates,
    preview_split,
    requests_body,
    route_units,
    ticket_body,
)

__all__ = [
    "OPEN_STATUSES_CLOSED",
    "CallPop",
    "Claims",
    "Criteria",
    "FormResult",
    "PlannedTicket",
    "TicketPage",
    "alarm_body",
    "call_pop",
    "clock_rows",
    "create_work_order",
    "fresh_token",
    "gov_tasks",
    "open_duplicates",
    "outcome_body",
    "preview_split",
    "read_claims",
    "requests_body",
    "route_units",
    "search",
    "sign_in",
    "sign_out",
    "ticket_body",
    "ticket_page",
]
