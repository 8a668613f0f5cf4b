"""The customer registry's import from a billing-system CSV export, with a report of the rows refused."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.store import Customer, CustomerPhone
from services.intake.validation import normalise_id_card, normalise_phone

REQUIRED_COLUMNS = ("account_number", "name", "phone", "address")
OPTIONAL_COLUMNS = ("id_card_number", "key_customer")
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "是"})


@dataclass(frozen=True)
class RejectedRow:
    line: int
    account_number: str
    reasons: tuple[str, ...]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated


class BadCsv(ValueError):
    """The file itself cannot be read as the export (missing columns, not CSV)."""


@dataclass(frozen=True)
class CustomerRow:
    account_number: str
    name: str
    phones: tuple[str, ...]
    address: str
    id_card_number: str | None
    key_customer: bool


def parse_rows(text: str) -> tuple[list[tuple[int, CustomerRow]], list[RejectedRow]]:
    """Read the export: `account_number,name,phone,address[,id_card_number,key_customer]`.

    Several phones of one customer are separated by `;` or `/`. Each bad row is refused with its
    line number and every reason; the good rows go on.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BadCsv(f"the CSV lacks the column(s) {', '.join(missing)}; expected {', '.join(REQUIRED_COLUMNS)}")
    good: list[tuple[int, CustomerRow]] = []
    rejected: list[RejectedRow] = []
    seen: set[str] = set()
    for raw in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        account = row.get("account_number", "")
        reasons: list[str] = []
        if not account or any(ch.isspace() for ch in account):
            reasons.append("account_number is empty or has blanks")
        elif account in seen:
            reasons.append("account_number appears twice in the file")
        for column in ("name", "address"):
            if not row.get(column):
                reasons.append(f"{column} is empty")
        phones: list[str] = []
        for text_phone in (p.strip() for p in row.get("phone", "").replace("/", ";").split(";")):
            if not text_phone:
                continue
            digits = normalise_phone(text_phone)
            if digits is None:
                reasons.append(f"phone {text_phone!r} is not a Chinese mobile or landline number")
            elif digits not in phones:
                phones.append(digits)
        if not phones and not any("phone" in r for r in reasons):
            reasons.append("phone is empty")
        id_card = row.get("id_card_number") or None
        if id_card is not None:
            id_card = normalise_id_card(id_card)
            if id_card is None:
                reasons.append("id_card_number is not a valid resident ID-card number")
        if reasons:
            rejected.append(RejectedRow(line, account, tuple(reasons)))
            continue
        seen.add(account)
        good.append(
            (
                line,
                CustomerRow(
                    account_number=account,
                    name=row["name"],
                    phones=tuple(phones),
                    address=row["address"],
                    id_card_number=id_card,
                    key_customer=row.get("key_customer", "").lower() in TRUE_WORDS,
                ),
            )
        )
    return good, rejected


async def import_customers(session: AsyncSession, branch: str, text: str, now: datetime) -> ImportReport:
    """Upsert the export's customers of one branch by account number (the caller commits)."""
    good, rejected = parse_rows(text)
    report = ImportReport(rejected=rejected)
    accounts = [row.account_number for _, row in good]
    existing = {
        c.account_number: c
        for c in (
            await session.scalars(
                select(Customer).where(Customer.branch == branch, Customer.account_number.in_(accounts))
            )
        ).all()
    }
    for _, row in good:
        customer = existing.get(row.account_number)
        if customer is None:
            customer = Customer(customer_id=str(uuid.uuid4()), branch=branch, account_number=row.account_number)
            session.add(customer)
            report.created += 1
        else:
            report.updated += 1
            await session.execute(delete(CustomerPhone).where(CustomerPhone.customer_id == customer.customer_id))
        customer.name = row.name
        customer.address = row.address
        customer.id_card_number = row.id_card_number
        customer.key_customer = row.key_customer
        customer.updated_at = now
        await session.flush()
        session.add_all(_phones(customer.customer_id, branch, row.phones))
    await session.flush()
    return report


def _phones(customer_id: str, branch: str, phones: Iterable[str]) -> list[CustomerPhone]:
    return [CustomerPhone(customer_id=customer_id, branch=branch, phone=p) for p in phones]
