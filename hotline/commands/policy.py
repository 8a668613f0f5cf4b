"""`hotline policy ...`: deadlines, callback slots and the working-day calendar from the command line."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer

from shared.branch_config import load_branch, load_calendar
from shared.policy import PolicyError, deadline_for, first_callback_slot, next_attempt_slot
from shared.policy.branch import BranchConfigError, BranchPolicy
from shared.policy.calendar import DayKind, MissingSchedule
from shared.policy.categories import parse_category, parse_subtype
from shared.policy.limits import parse_clock, parse_level

app = typer.Typer(help="Ask the policy engine: deadlines, callback slots, calendars.", no_args_is_help=True)

BranchOption = Annotated[str | None, typer.Option("--branch", help="Branch code (default: the default branch).")]


def fail(argument: str, message: str) -> NoReturn:
    """Bad input: one line on stderr naming the argument, nothing on stdout, exit status 2."""
    typer.echo(f"hotline: error: {argument}: {message}", err=True)
    raise typer.Exit(2)


def _branch(code: str | None) -> BranchPolicy:
    try:
        return load_branch(code)
    except BranchConfigError as error:
        fail("--branch", str(error))


def parse_instant(value: str, argument: str, zone: ZoneInfo) -> datetime:
    """An ISO-8601 instant; one without an offset is read in the branch's zone."""
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(argument, f"{value!r} is not an ISO-8601 instant (e.g. 2026-11-28T10:00:00+08:00)")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=zone)
    return instant


def _warn_provisional(years: tuple[int, ...]) -> None:
    named = ", ".join(str(y) for y in years)
    typer.echo(
        f"hotline: warning: provisional: no national holiday schedule is loaded for {named}; "
        "counted weekends-only until that year's file is loaded",
        err=True,
    )


@app.command()
def deadline(
    category: Annotated[str, typer.Option("--category", help="Ticket category, e.g. repair.")],
    clock: Annotated[str, typer.Option("--clock", help="dispatch, contact, handle, resolve or callback.")],
    start: Annotated[str, typer.Option("--start", help="When the clock started (ISO-8601).")],
    subtype: Annotated[str | None, typer.Option("--subtype", help="Sub-type, e.g. installation.")] = None,
    level: Annotated[str | None, typer.Option("--level", help="Complaint level 1, 2 or 3.")] = None,
    branch: BranchOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse a deadline in a year with no schedule.")] = False,
    refused: Annotated[
        bool, typer.Option("--refused", help="A refused service request's feedback limit (2 wd).")
    ] = False,
) -> None:
    """Print the deadline of CLOCK for a ticket of CATEGORY whose clock started at START."""
    policy = _branch(branch)
    try:
        cat = parse_category(category)
        parse_subtype(cat, subtype)
        sla_clock = parse_clock(clock)
        complaint_level = parse_level(level)
        begun = parse_instant(start, "--start", policy.timezone)
        result = deadline_for(
            cat, sla_clock, begun, policy, load_calendar(), level=complaint_level, refused=refused, strict=strict
        )
    except MissingSchedule as error:
        fail("--strict", error.message)
    except PolicyError as error:
        fail(error.argument, error.message)
    except BranchConfigError as error:
        fail("calendar", str(error))
    if result.provisional:
        _warn_provisional(result.missing_years)
    typer.echo(result.at.isoformat())


@app.command("next-callback")
def next_callback(
    reply_received: Annotated[
        str | None, typer.Option("--reply-received", help="When the center received the unit's reply.")
    ] = None,
    previous_attempt: Annotated[
        str | None, typer.Option("--previous-attempt", help="When the previous failed attempt was made.")
    ] = None,
    branch: BranchOption = None,
) -> None:
    """Print the earliest instant the next callback attempt may be made (RULES.md §5)."""
    if (reply_received is None) == (previous_attempt is None):
        fail("--reply-received/--previous-attempt", "give exactly one of the two")
    policy = _branch(branch)
    if reply_received is not None:
        slot = first_callback_slot(
            parse_instant(reply_received, "--reply-received", policy.timezone), policy.timezone, policy.quiet_window
        )
    elif previous_attempt is not None:
        slot = next_attempt_slot(
            parse_instant(previous_attempt, "--previous-attempt", policy.timezone),
            policy.timezone,
            policy.quiet_window,
            policy.retry,
        )
    else:
        fail("--reply-received/--previous-attempt", "give exactly one of the two")
    typer.echo(slot.isoformat())


@app.command()
def calendar(
    year: Annotated[str, typer.Argument(help="The year, e.g. 2026.")],
    branch: BranchOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse a year with no schedule.")] = False,
) -> None:
    """Show YEAR's non-working days and make-up working days for the branch (RULES.md §3)."""
    if not year.strip().isdigit() or not 1900 <= int(year) <= 2200:
        fail("YEAR", f"{year!r} is not a year like 2026")
    number = int(year)
    policy = _branch(branch)
    try:
        national = load_calendar()
    except BranchConfigError as error:
        fail("calendar", str(error))
    if not national.knows_year(number):
        if strict:
            fail("--strict", MissingSchedule([number]).message)
        _warn_provisional((number,))
    cal = national.with_overrides(policy.calendar_overrides.values())
    days = list(cal.year_days(number))
    source = national.schedules[number].source if national.knows_year(number) else "none (weekends only)"
    zone = policy.timezone.key
    typer.echo(f"{number} working-day calendar: branch {policy.code} ({zone}); national schedule: {source}")
    off = [d for d in days if not d.working]
    typer.echo(f"non-working days ({len(off)}):")
    for d in off:
        typer.echo(f"  {d.day.isoformat()} {d.day.strftime('%a')}  {d.kind.value:<14} {d.name}".rstrip())
    makeup = [d for d in days if d.working and d.kind in (DayKind.MAKEUP_WORKDAY, DayKind.BRANCH_OPEN)]
    typer.echo(f"make-up working days ({len(makeup)}):")
    for d in makeup:
        typer.echo(f"  {d.day.isoformat()} {d.day.strftime('%a')}  {d.kind.value:<14} {d.name}".rstrip())
    typer.echo(f"working days: {len(days) - len(off)}")
