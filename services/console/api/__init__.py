"""The console's routes: pages and htmx fragments (HTML), the event stream, health and metrics."""

from services.console.api import callbacks, knowledge, live, pages, tickets, work_orders

routers = [pages.router, work_orders.router, tickets.router, live.router, callbacks.router]
routers.append(knowledge.router)  # issue 19: the knowledge base pages
