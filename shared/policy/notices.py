"""Customer status notices (issue 21): which kinds exist, their templates' placeholders, when one may be sent.

A template may use only the placeholders below: the ticket's own facts, never another person's
data (RULES.md §6). An unknown placeholder is an error when the templates are loaded, not when
a customer's message is built.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.policy.callbacks import QuietWindow
from shared.policy.categories import CHINESE_NAMES, Category


class NoticeKind(StrEnum):
    """The moments a customer hears about their ticket."""

    DISPATCHED = "dispatched"  # sent to the responsible unit
    ON_THE_WAY = "on_the_way"  # the unit contacted the customer and is coming
    APPOINTMENT = "appointment"  # the unit contacted the customer and set a time
    RESOLVED = "resolved"  # the reply was approved: the problem is dealt with
    CALLBACK_MISSED = "callback_missed"  # the center could not reach the customer for the callback


PLACEHOLDERS: Mapping[str, str] = {
    "ticket_number": "the ticket's number (GX-20261201-000123)",
    "category": "the category in Chinese (故障报修)",
    "appointment": "the appointment, local time (12月02日 09:30)",
    "hotline": "the branch's hotline number",
}


class TemplateError(ValueError):
    """A notice template that cannot be used; the message names the template and the problem."""


def check_template(where: str, text: str) -> str:
    """The template itself when every placeholder in it is known; TemplateError otherwise."""
    if not text.strip():
        raise TemplateError(f"{where}: the template is empty")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as error:
        raise TemplateError(f"{where}: {error} (write a literal brace as {{{{ or }}}})") from None
    for name in fields:
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise TemplateError(f"{where}: unknown placeholder {{{name}}}; known: {known}")
    return text


@dataclass(frozen=True)
class NoticeTemplates:
    """A branch's templates: per category, falling back to the `default` table, per notice kind."""

    by_category: Mapping[str, Mapping[NoticeKind, str]]

    def template(self, category: Category, kind: NoticeKind) -> str | None:
        for table in (category.value, "default"):
            text = self.by_category.get(table, {}).get(kind)
            if text is not None:
                return text
        return None


def templates_from_mapping(source: str, data: Mapping[str, object]) -> NoticeTemplates:
    """Parse and check a templates file (`[default]` and `[<category>]` tables of `<kind> = "text"`)."""
    tables: dict[str, dict[NoticeKind, str]] = {}
    for table, entries in data.items():
        if table != "default" and table not in {c.value for c in Category}:
            raise TemplateError(f"{source}: [{table}] is neither 'default' nor a category")
        if not isinstance(entries, Mapping):
            raise TemplateError(f'{source}: [{table}] must be a table of kind = "text"')
        for kind, text in entries.items():
            try:
                notice = NoticeKind(kind)
            except ValueError:
                kinds = ", ".join(k.value for k in NoticeKind)
                raise TemplateError(f"{source}: [{table}] {kind}: unknown notice kind; known: {kinds}") from None
            if not isinstance(text, str):
                raise TemplateError(f"{source}: [{table}] {kind}: the template must be text")
            tables.setdefault(table, {})[notice] = check_template(f"{source}: [{table}] {kind}", text)
    return NoticeTemplates(tables)


def render(text: str, *, ticket_number: str, category: Category, hotline: str, appointment: str = "") -> str:
    return text.format(
        ticket_number=ticket_number, category=CHINESE_NAMES[category], hotline=hotline, appointment=appointment
    )


def appointment_text(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.month:02d}月{local.day:02d}日 {local.hour:02d}:{local.minute:02d}"


def earliest_send(now: datetime, zone: ZoneInfo, quiet: QuietWindow, *, urgent: bool) -> datetime:
    """RULES.md §5: a non-urgent notice waits for the end of the branch's quiet window; an urgent one goes now."""
    if urgent:
        return now
    return quiet.end_after(now, zone)
