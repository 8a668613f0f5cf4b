"""The console's routes: pages and htmx fragments (HTML), the event stream, health and metrics."""

from services.console.api import callbacks, center, division, live, org, pages, roles, tickets, unit, work_orders

routers = [pages.router, work_orders.router, tickets.router, live.router, callbacks.router]
routers += [roles.router, unit.router, center.router, division.router, org.router]  # issue 17
