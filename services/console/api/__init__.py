"""The console's routes: pages and htmx fragments (HTML), the event stream, health and metrics."""

from services.console.api import callbacks, live, pages, tickets, work_orders

routers = [pages.router, work_orders.router, tickets.router, live.router, callbacks.router]
