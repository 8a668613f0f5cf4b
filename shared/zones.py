"""Instants shown to people in their branch's time zone, with its offset (DESIGN.md "Time", RULES.md §3).

Stored instants come back from the databases in UTC; an API answer or an event payload built from them would
say `2026-02-25T09:00:01Z` where the branch says `2026-02-25T17:00:01+08:00`. Both are the same instant, but a
person reads the wall clock of the branch. `in_branch_zone` puts every instant of a JSON document in the zone
of the nearest enclosing object's `branch` (else the default branch's zone); `zoned` does the same for a
pydantic model's fields (event payloads).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.branch_config import load_branch
from shared.policy import BranchConfigError

M = TypeVar("M", bound=BaseModel)

# an ISO-8601 instant with a zone, as pydantic and datetime.isoformat write it
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


@lru_cache(maxsize=256)
def branch_zone(branch: str | None) -> tzinfo:
    """The branch's time zone; an unknown branch (or none) shows the default branch's."""
    try:
        return load_branch(branch).timezone
    except (BranchConfigError, ValueError, OSError):  # no file of that branch, or not a branch name at all
        return load_branch(None).timezone


def in_zone(value: datetime, zone: tzinfo) -> datetime:
    """The same instant on the zone's wall clock (naive values are left alone: they are not instants)."""
    return value if value.tzinfo is None else value.astimezone(zone)


def in_branch_zone(content: Any, zone: tzinfo | None = None) -> Any:
    """A JSON-like document with every instant (datetime or ISO string with a zone) in its branch's zone."""
    if isinstance(content, Mapping):
        branch = content.get("branch")
        if isinstance(branch, str):
            zone = branch_zone(branch)
        return {key: in_branch_zone(value, zone) for key, value in content.items()}
    if isinstance(content, list | tuple):
        return [in_branch_zone(item, zone) for item in content]
    if isinstance(content, datetime):
        return in_zone(content, zone or branch_zone(None))
    if isinstance(content, str) and _INSTANT.match(content):
        try:
            parsed = datetime.fromisoformat(content)
        except ValueError:
            return content
        return in_zone(parsed, zone or branch_zone(None)).isoformat()
    return content


def zoned(model: M, branch: str | None) -> M:
    """A copy of the model with every instant field (nested models and tuples too) in the branch's zone."""
    zone = branch_zone(branch)
    return _zoned_model(model, zone)


def _zoned_model(model: M, zone: tzinfo) -> M:
    changes: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        shown = _zoned_value(value, zone)
        if shown is not value:
            changes[name] = shown
    return model.model_copy(update=changes) if changes else model


def _zoned_value(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        shown = value.astimezone(zone)
        return value if shown.utcoffset() == value.utcoffset() else shown
    if isinstance(value, BaseModel):
        return _zoned_model(value, zone)
    if isinstance(value, tuple):
        items = tuple(_zoned_value(item, zone) for item in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value
