"""What every reporting route shares: the roles, the handlers' errors as 4xx, the relay nudge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Request

from services.reporting.handlers import InvalidCommand, NotAllowed, NotFound
from shared.auth import Principal, Role, require_roles
from shared.http.errors import ApiError

# the people who take calls (agents) and the center that watches them
CallTaker = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR)]
Center = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR)]
# supervision figures: the center sees its branch, a division its own units (RULES.md §7)
Supervisor = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR, Role.AUDITOR)]


@contextmanager
def api_errors() -> Iterator[None]:
    try:
        yield
    except NotFound as error:
        raise ApiError(404, str(error)) from None
    except NotAllowed as error:
        raise ApiError(403, str(error), code="out_of_scope") from None
    except InvalidCommand as error:
        raise ApiError(
            422, error.message, fields=[{"field": f"body.{error.field}", "message": error.message}]
        ) from None


def committed(request: Request) -> None:
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        relay.notify()
