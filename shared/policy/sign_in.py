"""Sign-in rules as data and pure functions: password policy, lockout, IdP groups to roles."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A short list of the passwords every guessing attack tries first (and their Chinese favourites);
# the policy refuses them whatever their case. Not a breach corpus: length does most of the work.
COMMON_PASSWORDS: frozenset[str] = frozenset(
    {
        "123456789012",
        "1234567890ab",
        "password1234",
        "password123!",
        "passw0rd1234",
        "qwertyuiop12",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "iloveyou1234",
        "admin1234567",
        "administrator",
        "welcome12345",
        "changeme1234",
        "letmein12345",
        "abc123456789",
        "111111111111",
        "000000000000",
        "123123123123",
        "woaini520131",
        "woaini1314520",
        "5201314520131",
        "a123456789012",
        "zxcvbnm12345",
        "asdfghjkl123",
        "hotline12345",
        "gashotline12",
        "12345678910111",
    }
)


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """What a new password must be (NIST SP 800-63B §5.1.1.2: length and a blocklist, no composition rules)."""

    min_length: int = 12
    max_length: int = 128
    common: frozenset[str] = COMMON_PASSWORDS


def password_problems(policy: PasswordPolicy, password: str, *, username: str) -> list[str]:
    """Why `password` is refused, in words a person can act on; empty when it is acceptable."""
    problems: list[str] = []
    text = unicodedata.normalize("NFKC", password)
    if len(text) < policy.min_length:
        problems.append(f"must be at least {policy.min_length} characters")
    if len(text) > policy.max_length:
        problems.append(f"must be at most {policy.max_length} characters")
    folded = text.casefold()
    name = unicodedata.normalize("NFKC", username).casefold()
    if name and name in folded:
        problems.append("must not contain the username")
    if folded in policy.common:
        problems.append("is one of the most common passwords")
    if text and len(set(text)) == 1:
        problems.append("must not be one character repeated")
    return problems


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """`max_failures` wrong passwords in a row lock the account for `lockout`, doubling per further lock."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    max_lockout: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class FailureOutcome:
    failures: int
    locked_until: datetime | None


def after_failure(policy: LockoutPolicy, failures_before: int, now: datetime) -> FailureOutcome:
    """The counter and lock after one more wrong password (the counter resets only on success)."""
    failures = failures_before + 1
    if failures < policy.max_failures:
        return FailureOutcome(failures, None)
    # the 5th failure locks for 15 min, the 10th for 30 min, ... capped
    locks = failures // policy.max_failures
    if failures % policy.max_failures:
        return FailureOutcome(failures, None)
    duration = min(policy.lockout * (2 ** (locks - 1)), policy.max_lockout)
    return FailureOutcome(failures, now + duration)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


@dataclass(frozen=True, slots=True)
class ClaimMapping:
    """How a branch turns an IdP's claims into a person: groups to roles, a claim to the unit or division.

    `roles` maps a group (as the IdP sends it, e.g. `/hotline/agents`) to one of the product's roles;
    `units` and `divisions` map a group to a unit or division code. The person's roles keep the
    order of `roles` (the first is the one they act in by default).
    """

    roles: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    divisions: Mapping[str, str] = field(default_factory=dict)
    groups_claim: str = "groups"


@dataclass(frozen=True, slots=True)
class MappedPerson:
    roles: tuple[str, ...]
    unit: str | None
    division: str | None


def _groups(claims: Mapping[str, object], name: str) -> list[str]:
    value = claims.get(name)
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    return []


def map_claims(mapping: ClaimMapping, claims: Mapping[str, object]) -> MappedPerson:
    """The roles, unit and division an IdP's claims give; no mapped role means no access."""
    groups = set(_groups(claims, mapping.groups_claim))
    # a leading slash is Keycloak's full group path; accept both spellings
    groups |= {g.lstrip("/") for g in groups}
    roles = _ordered_unique(role for group, role in mapping.roles.items() if group in groups)
    unit = next((code for group, code in mapping.units.items() if group in groups), None)
    division = next((code for group, code in mapping.divisions.items() if group in groups), None)
    return MappedPerson(roles, unit, division)


def _ordered_unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return tuple(seen)
