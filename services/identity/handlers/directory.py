"""The directory: people per branch created, changed, disabled, reset and imported (all or nothing)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import phonenumbers
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import store
from services.identity.handlers.common import (
    Actor,
    Identity,
    IdentityAction,
    audit,
    check_person_roles,
)
from services.identity.schemas import PersonCreate, PersonPublic, PersonUpdate
from shared.errors import Invalid
from shared.policy.sign_in import password_problems

CSV_COLUMNS = ("username", "display_name", "roles", "unit", "division", "phone")


class BadInput(Invalid):
    """A person that cannot be saved (422): `inputs` say which parts and why, `fields` the same on the request body."""

    def __init__(self, inputs: list[dict[str, str]]) -> None:
        super().__init__("the person cannot be saved", fields=[{**f, "field": f"body.{f['field']}"} for f in inputs])
        self.inputs = inputs


def public(person: store.Person) -> PersonPublic:
    return PersonPublic(
        id=person.id,
        branch=person.branch,
        username=person.username,
        display_name=person.display_name,
        phone=person.phone,
        roles=list(person.roles),
        unit=person.unit,
        division=person.division,
        active=person.active,
        group_admin=person.group_admin,
        must_change_password=person.must_change_password,
        totp_enabled=person.totp_enabled,
        sso=person.sso_subject is not None,
        locked_until=person.locked_until,
    )


def normalise_phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise BadInput([{"field": "phone", "message": "not a phone number"}]) from exc
    if not phonenumbers.is_valid_number(number):
        raise BadInput([{"field": "phone", "message": "not a valid Chinese mobile or landline number"}])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_new_person(ident: Identity, body: PersonCreate) -> list[dict[str, str]]:
    """Every problem of a new person's fields (the database is asked about the username separately)."""
    errors = check_person_roles(body.roles, body.unit, body.division)
    if body.password is not None:
        errors += [
            {"field": "password", "message": p}
            for p in password_problems(ident.settings.password_policy(), body.password, username=body.username)
        ]
    from shared.branch_config import load_branch
    from shared.policy.branch import BranchConfigError

    try:
        load_branch(body.branch)
    except BranchConfigError:
        errors.append({"field": "branch", "message": f"unknown branch {body.branch!r}"})
    if body.phone is not None:
        try:
            normalise_phone(body.phone)
        except BadInput as exc:
            errors += exc.inputs
    return errors


async def _new_person(ident: Identity, body: PersonCreate) -> store.Person:
    now = ident.clock.now()
    return store.Person(
        branch=body.branch,
        username=body.username,
        display_name=body.display_name,
        phone=normalise_phone(body.phone) if body.phone else None,
        roles=list(body.roles),
        unit=body.unit,
        division=body.division,
        active=True,
        group_admin=body.group_admin,
        password_hash=await ident.passwords.hash(body.password) if body.password else None,
        must_change_password=body.must_change_password,
        password_changed_at=now if body.password else None,
        failed_sign_ins=0,
        totp_enabled=False,
        created_at=now,
        updated_at=now,
    )


async def create_person(session: AsyncSession, ident: Identity, actor: Actor, body: PersonCreate) -> store.Person:
    errors = check_new_person(ident, body)
    if await store.existing_usernames(session, [body.username]):
        errors.append({"field": "username", "message": f"username {body.username!r} is taken"})
    if errors:
        raise BadInput(errors)
    person = await _new_person(ident, body)
    session.add(person)
    await session.flush()
    detail = {"username": person.username, "roles": person.roles, "unit": person.unit, "division": person.division}
    await audit(session, actor, IdentityAction.PERSON_CREATED, ident.clock.now(), detail=detail)
    return person


async def update_person(
    session: AsyncSession, ident: Identity, actor: Actor, person: store.Person, body: PersonUpdate
) -> store.Person:
    roles = body.roles if body.roles is not None else person.roles
    unit = body.unit if body.unit is not None else person.unit
    division = body.division if body.division is not None else person.division
    errors = check_person_roles(roles, unit, division)
    if errors:
        raise BadInput(errors)
    now = ident.clock.now()
    if list(roles) != list(person.roles) or unit != person.unit or division != person.division:
        before = {"roles": list(person.roles), "unit": person.unit, "division": person.division}
        after = {"roles": list(roles), "unit": unit, "division": division}
        await audit(
            session,
            actor,
            IdentityAction.ROLE_CHANGED,
            now,
            detail={"username": person.username, "from": before, "to": after},
        )
        # the scope of the person's sign-ins changed: they sign in again for tokens that say so
        await store.revoke_person_tokens(session, person.id, now, "role_changed")
    person.roles, person.unit, person.division = list(roles), unit, division
    if body.display_name is not None:
        person.display_name = body.display_name
    if body.phone is not None:
        person.phone = normalise_phone(body.phone)
    person.updated_at = now
    await session.flush()
    return person


async def set_active(session: AsyncSession, ident: Identity, actor: Actor, person: store.Person, active: bool) -> None:
    """Disable (every refresh token revoked: the next refresh fails) or enable a person."""
    now = ident.clock.now()
    person.active = active
    person.updated_at = now
    if not active:
        await store.revoke_person_tokens(session, person.id, now, "disabled")
    action = IdentityAction.PERSON_ENABLED if active else IdentityAction.PERSON_DISABLED
    await audit(session, actor, action, now, detail={"username": person.username})


async def reset_password(
    session: AsyncSession, ident: Identity, actor: Actor, person: store.Person, temporary: str
) -> None:
    """An admin's reset: a temporary password, changed at next sign-in; the lock and sign-ins end."""
    problems = password_problems(ident.settings.password_policy(), temporary, username=person.username)
    if problems:
        raise BadInput([{"field": "temporary_password", "message": p} for p in problems])
    now = ident.clock.now()
    person.password_hash = await ident.passwords.hash(temporary)
    person.must_change_password = True
    person.failed_sign_ins = 0
    person.locked_until = None
    person.updated_at = now
    await store.revoke_person_tokens(session, person.id, now, "password_reset")
    await audit(session, actor, IdentityAction.PASSWORD_RESET, now, detail={"username": person.username})


async def reset_totp(session: AsyncSession, ident: Identity, actor: Actor, person: store.Person) -> None:
    """A lost authenticator: the second factor is removed (the person enrols again); their sign-ins end."""
    now = ident.clock.now()
    person.totp_enabled, person.totp_secret, person.totp_last_step = False, None, None
    person.updated_at = now
    await store.revoke_person_tokens(session, person.id, now, "totp_reset")
    await audit(session, actor, IdentityAction.TOTP_RESET, now, detail={"username": person.username})


# --------------------------------------------------------------------------- CSV import


@dataclass(frozen=True)
class RejectedRow:
    line: int
    username: str
    reasons: tuple[str, ...]


@dataclass
class ImportReport:
    created: int
    rejected: list[RejectedRow]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", "|").split("|") if part.strip()]


async def import_people(session: AsyncSession, ident: Identity, actor: Actor, branch: str, text: str) -> ImportReport:
    """HR's CSV (`username,display_name,roles,unit,division,phone`; several roles split by `;` or `|`).

    All or nothing: one bad row and no row is imported; every bad row is reported with its line.
    Imported people have no password: they sign in through the branch's single sign-on, or an
    admin resets a temporary password for them.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("username", "roles") if c not in (reader.fieldnames or [])]
    if missing:
        raise BadInput([{"field": "FILE", "message": f"missing column(s): {', '.join(missing)}"}])
    rows: list[tuple[int, PersonCreate]] = []
    rejected: list[RejectedRow] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        username = (row.get("username") or "").strip()
        reasons: list[str] = []
        try:
            body = PersonCreate(
                branch=branch,
                username=username,
                display_name=(row.get("display_name") or "").strip(),
                roles=_split(row.get("roles") or ""),
                unit=(row.get("unit") or "").strip() or None,
                division=(row.get("division") or "").strip() or None,
                phone=(row.get("phone") or "").strip() or None,
            )
        except ValidationError as exc:
            reasons += [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        else:
            reasons += [f"{f['field']}: {f['message']}" for f in check_new_person(ident, body)]
            if username in seen:
                reasons.append(f"username: also on line {seen[username]}")
            if not reasons:
                rows.append((line, body))
        seen.setdefault(username, line)
        if reasons:
            rejected.append(RejectedRow(line, username, tuple(reasons)))
    taken = await store.existing_usernames(session, [body.username for _, body in rows])
    for line, body in rows:
        if body.username in taken:
            rejected.append(RejectedRow(line, body.username, (f"username: {body.username!r} is taken",)))
    if rejected:
        return ImportReport(0, sorted(rejected, key=lambda r: r.line))
    for _, body in rows:
        session.add(await _new_person(ident, body))
    await session.flush()
    await audit(session, actor, IdentityAction.PEOPLE_IMPORTED, ident.clock.now(), detail={"created": len(rows)})
    return ImportReport(len(rows), [])
