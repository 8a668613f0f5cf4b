"""Identity verification before an account query (RULES.md §1 query, §6): rules and storage."""

from __future__ import annotations

import hmac
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

import structlog
from pydantic import BaseModel, StringConstraints
from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.auth.audit import AuditAction, AuditLog
from shared.auth.principal import Principal
from shared.http.errors import ApiError
from shared.privacy import PersonalField, normalise_id_number, phone_digits

log = structlog.get_logger(__name__)

# The four answers RULES.md §1 (query) names; a branch may require fewer.
IDENTITY_FIELDS: tuple[PersonalField, ...] = (
    PersonalField.NAME,
    PersonalField.ID_NUMBER,
    PersonalField.ADDRESS,
    PersonalField.PHONE,
)


@dataclass(frozen=True, slots=True)
class VerificationPolicy:
    """Per-branch configuration: which answers are required and when a customer is locked."""

    required: frozenset[PersonalField] = frozenset(IDENTITY_FIELDS)
    max_failures: int = 3
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if not self.required or not self.required <= set(IDENTITY_FIELDS):
            raise ValueError(f"required answers must be a non-empty subset of {IDENTITY_FIELDS}")
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")


@dataclass(frozen=True, slots=True)
class CustomerIdentity:
    """The customer record's side of the comparison."""

    name: str | None = None
    id_number: str | None = None
    address: str | None = None
    phone: str | None = None


_Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class IdentityAnswers(BaseModel):
    """What the caller said on the phone; any subset, the policy says which are required."""

    name: _Answer | None = None
    id_number: _Answer | None = None
    address: _Answer | None = None
    phone: _Answer | None = None


def normalise(field: PersonalField, value: str) -> str:
    """Compare like with like: phone by digits, ID number with upper-case X, text by NFKC."""
    if field is PersonalField.PHONE:
        return phone_digits(value)
    if field is PersonalField.ID_NUMBER:
        return normalise_id_number(value)
    # full-width and half-width characters, stray spaces inside a name or address
    return "".join(unicodedata.normalize("NFKC", value).split()).casefold()


@dataclass(frozen=True, slots=True)
class AnswerCheck:
    missing: frozenset[PersonalField]
    mismatched: frozenset[PersonalField]

    @property
    def passed(self) -> bool:
        return not self.missing and not self.mismatched


def check_answers(policy: VerificationPolicy, record: CustomerIdentity, answers: IdentityAnswers) -> AnswerCheck:
    """Which required answers are missing and which do not match the record."""
    missing = {f for f in policy.required if getattr(answers, f.value) is None}
    mismatched: set[PersonalField] = set()
    for field in policy.required - missing:
        expected = getattr(record, field.value)
        given = getattr(answers, field.value)
        # a record without the value can never be matched: fail rather than skip the check
        if expected is None or not hmac.compare_digest(
            normalise(field, expected).encode(), normalise(field, given).encode()
        ):
            mismatched.add(field)
    return AnswerCheck(frozenset(missing), frozenset(mismatched))


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    succeeded: bool


def locked_until(attempts: Iterable[Attempt], policy: VerificationPolicy, now: datetime) -> datetime | None:
    """When the customer's lock ends, or None when not locked at `now`.

    Failures after the last success count; when `max_failures` of them fall within one
    `window` ending at the latest failure, queries are locked for `lockout` from it.
    """
    ordered = sorted(attempts, key=lambda a: a.at)
    failures: list[datetime] = []
    for attempt in ordered:
        if attempt.succeeded:
            failures.clear()
        else:
            failures.append(attempt.at)
    if not failures:
        return None
    latest = failures[-1]
    recent = [at for at in failures if latest - at < policy.window]
    if len(recent) < policy.max_failures:
        return None
    until = latest + policy.lockout
    return until if now < until else None


def failures_left(attempts: Iterable[Attempt], policy: VerificationPolicy, now: datetime) -> int:
    """How many more failures are allowed before the lock, counted within the window."""
    ordered = sorted(attempts, key=lambda a: a.at)
    count = 0
    for attempt in ordered:
        count = 0 if attempt.succeeded else count + (now - attempt.at < policy.window)
    return max(policy.max_failures - count, 0)


class VerificationAttemptMixin:
    """One verification attempt; a service maps it beside its customers table."""

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    branch: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(120))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    # names of the fields that did not match, never the values given
    mismatched: Mapped[str] = mapped_column(String(120), default="")


A = TypeVar("A", bound=VerificationAttemptMixin)


class VerificationStore(Generic[A]):
    """Attempts of one service's table."""

    def __init__(self, model: type[A]) -> None:
        self.model = model

    async def attempts_since(
        self, session: AsyncSession, *, branch: str, customer_id: str, since: datetime
    ) -> list[Attempt]:
        model: Any = self.model
        rows = (
            await session.execute(
                select(model.at, model.succeeded).where(
                    model.branch == branch,
                    model.customer_id == customer_id,
                    model.at >= since.astimezone(UTC),
                )
            )
        ).all()
        return [Attempt(at if at.tzinfo is not None else at.replace(tzinfo=UTC), bool(ok)) for at, ok in rows]

    async def add(
        self,
        session: AsyncSession,
        *,
        branch: str,
        customer_id: str,
        subject: str,
        at: datetime,
        succeeded: bool,
        mismatched: Iterable[PersonalField] = (),
    ) -> None:
        row = self.model()
        row.at = at.astimezone(UTC)
        row.branch = branch
        row.customer_id = customer_id
        row.subject = subject
        row.succeeded = succeeded
        row.mismatched = ",".join(sorted(f.value for f in mismatched))
        session.add(row)
        await session.flush()


def _retry_after(until: datetime, now: datetime) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil((until - now).total_seconds())))}


def _field_errors(fields: Sequence[PersonalField], message: str) -> list[dict[str, str]]:
    return [{"field": f"body.{f.value}", "message": message} for f in sorted(fields)]


async def verify_identity(
    session: AsyncSession,
    *,
    store: VerificationStore[Any],
    audit: AuditLog[Any],
    principal: Principal,
    policy: VerificationPolicy,
    customer_id: str,
    record: CustomerIdentity,
    answers: IdentityAnswers,
    now: datetime,
    ticket_id: str | None = None,
) -> None:
    """Return when the caller is verified; raise 422 / 403 / 423 otherwise.

    Failed attempts are committed before the refusal goes out, so a caller cannot reset the
    count by making the request fail. 423 Locked with Retry-After while locked.
    """
    # older attempts can neither hold nor extend a lock
    horizon = now - policy.lockout - policy.window
    attempts = await store.attempts_since(session, branch=principal.branch, customer_id=customer_id, since=horizon)
    until = locked_until(attempts, policy, now)
    if until is not None:
        await audit.record(
            session,
            principal=principal,
            action=AuditAction.VERIFICATION_LOCKED,
            at=now,
            ticket_id=ticket_id,
            customer_id=customer_id,
            outcome="refused",
        )
        await session.commit()
        log.warning("identity verification locked", customer_id=customer_id)
        raise ApiError(
            423,
            "identity verification for this customer is locked; try again later",
            code="verification_locked",
            headers=_retry_after(until, now),
        )
    check = check_answers(policy, record, answers)
    if check.missing:
        # an incomplete answer is a form error, not a failed attempt
        raise ApiError(
            422,
            "identity verification needs more answers",
            fields=_field_errors(sorted(check.missing), "required by this branch"),
        )
    await store.add(
        session,
        branch=principal.branch,
        customer_id=customer_id,
        subject=principal.subject,
        at=now,
        succeeded=check.passed,
        mismatched=check.mismatched,
    )
    await audit.record(
        session,
        principal=principal,
        action=AuditAction.VERIFICATION_PASSED if check.passed else AuditAction.VERIFICATION_FAILED,
        at=now,
        ticket_id=ticket_id,
        customer_id=customer_id,
        outcome="ok" if check.passed else "mismatch",
        detail={"mismatched": sorted(f.value for f in check.mismatched)},
    )
    await session.commit()
    if check.passed:
        log.info("identity verified", customer_id=customer_id)
        return
    attempts = [*attempts, Attempt(now, succeeded=False)]
    log.warning(
        "identity verification failed",
        customer_id=customer_id,
        mismatched=sorted(f.value for f in check.mismatched),
    )
    until = locked_until(attempts, policy, now)
    if until is not None:
        raise ApiError(
            423,
            "identity verification failed too often; this customer is locked for a while",
            code="verification_locked",
            headers=_retry_after(until, now),
        )
    raise ApiError(
        403,
        f"identity not verified; {failures_left(attempts, policy, now)} attempt(s) left",
        # which answer was wrong is not said: it would let a caller guess one field at a time
        code="verification_failed",
    )


# --------------------------------------------------------------------------- token claims


class ClaimsError(ValueError):
    """Verified token claims that do not make a principal; the caller answers 401."""


def _text_claim(claims: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        # a list, number or object here would be read as "no narrowing": the whole branch
        raise ClaimsError(
            f"token has an invalid {name!r} claim" if value is not None else f"token lacks the {name!r} claim"
        )
    return value


def principal_from_claims(claims: Mapping[str, Any], *, max_lifetime: timedelta, leeway: timedelta) -> Principal:
    """The principal of signature-checked claims, each validated by type (issue 14 #5, #11).

    Scope claims must be non-empty strings, or absent where the role needs none; a lifetime
    (`exp - iat`) over `max_lifetime` is refused, not only when issuing: a leaked or
    mis-issued ten-year token must not work.
    """
    from shared.auth.roles import Role

    subject = _text_claim(claims, "sub", required=True)
    branch = _text_claim(claims, "branch", required=True)
    try:
        role = Role(str(claims.get("role")))
    except ValueError as exc:
        raise ClaimsError("token has an unknown role") from exc
    unit = _text_claim(claims, "unit", required=role is Role.UNIT_HANDLER)
    division = _text_claim(claims, "division", required=role is Role.DIVISION_SUPERVISOR)
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float) or isinstance(issued, bool):
        raise ClaimsError("token has invalid 'iat' or 'exp' claims")
    if timedelta(seconds=float(expires) - float(issued)) > max_lifetime + leeway:
        raise ClaimsError(f"token lifetime exceeds the accepted maximum of {max_lifetime}")
    token_id = claims.get("jti")
    if subject is None or branch is None:  # required=True raised already; this narrows the types
        raise ClaimsError("token has no 'sub' or 'branch' claim")
    return Principal(
        subject=subject,
        role=role,
        branch=branch,
        unit=unit,
        division=division,
        token_id=token_id if isinstance(token_id, str) else None,
    )
