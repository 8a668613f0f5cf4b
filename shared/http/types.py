"""Input types whose validation matches their OpenAPI schema (issue 14 #13: no lax coercions).

pydantic's lax mode reads `0` as false and `0.5` as an instant (seconds since 1970): the
documents say boolean and date-time, so such values are refused like any other mismatch.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, StrictBool

_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


def _an_iso_instant(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("must be an ISO-8601 instant with its offset, like 2026-11-27T10:00:00+08:00")
    return value


# an instant with its UTC offset, written as ISO-8601 (never a number of seconds)
Instant = Annotated[AwareDatetime, BeforeValidator(_an_iso_instant)]
# true or false, never 0/1 or "yes"
Flag = StrictBool

__all__ = ["Flag", "Instant"]
