"""The console's routes: pages and htmx fragments (HTML), the event stream, health and metrics."""

from services.console.api import callbacks, live, new_requests, pages, sso, ticket_extras, tickets, work_orders

routers = [pages.router, work_orders.router, tickets.router, live.router, callbacks.router]
# issue 16: the ticket page's attachments and actions; SSO; the desk's new requests
routers += [ticket_extras.router, sso.router, new_requests.router]
