"""The console's routes: pages and htmx fragments (HTML), the event stream, health and metrics."""

from services.console.api import (
    callbacks,
    center,
    customer_photos,
    division,
    knowledge,
    live,
    new_requests,
    org,
    pages,
    reporting,
    roles,
    self_service,
    sso,
    ticket_extras,
    tickets,
    unit,
    work_orders,
)

routers = [pages.router, work_orders.router, tickets.router, live.router, callbacks.router]
# issue 16: the ticket page's attachments and actions; SSO; the desk's new requests
routers += [ticket_extras.router, sso.router, new_requests.router]
routers.append(knowledge.router)  # issue 19: the knowledge base pages
routers += [roles.router, unit.router, center.router, division.router, org.router]  # issue 17
routers.append(reporting.router)  # issue 18: bulletins, figures, the wallboard
routers.append(self_service.router)  # issue 21: the customers' self-service pages
routers.append(customer_photos.router)  # issue 21: the customer's photos on the staff's ticket pages
