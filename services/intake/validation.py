"""Field checks of a work order that depend on its category, phone and ID-card numbers (field-level 422s)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as NumberError

from services.intake.schemas import CallbackIn, ComplaintIn, CustomerIn, ResolutionIn
from shared.errors import Invalid
from shared.policy.categories import SUBTYPES, Category, Subtype
from shared.policy.limits import callback_kind

# RULES.md §1: the fields each category requires live in shared/policy/work_order.py (the console's form uses them)
from shared.policy.work_order import (
    ADDRESS_REQUIRED,
    CLOSABLE_ON_CALL,
    DESCRIPTION_REQUIRED,
    NAME_REQUIRED,
    PHONE_REQUIRED,
)

_PHONE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def normalise_phone(value: str) -> str | None:
    """A Chinese mobile or landline number as national digits (`13800138000`, `07715678678`), or None."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in _PHONE_TYPES:
        return None
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())


def normalise_id_card(value: str) -> str | None:
    """A valid resident ID-card number in canonical form, or None."""
    try:
        return str(ric.validate(value.strip().upper()))
    except NumberError:
        return None


@dataclass
class FieldErrors:
    """Collects every field error of a request so that one 422 names them all."""

    prefix: str = "body"
    errors: list[dict[str, str]] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.errors.append({"field": f"{self.prefix}.{path}" if path else self.prefix, "message": message})

    def raise_if_any(self) -> None:
        if self.errors:
            raise Invalid("the work order has invalid fields", fields=self.errors)


def check_customer(
    errors: FieldErrors, category: Category, customer: CustomerIn, callback: CallbackIn, path: str = "customer"
) -> tuple[str | None, str | None]:
    """Required parts per category and the number formats; returns the normalised phone and ID number."""
    if category in ADDRESS_REQUIRED and not customer.address:
        errors.add(f"{path}.address", f"an address is required for a {category.value} ticket")
    if category in NAME_REQUIRED and not customer.name:
        errors.add(f"{path}.name", f"the caller's name is required for a {category.value} ticket")
    phone: str | None = None
    if customer.phone:
        phone = normalise_phone(customer.phone)
        if phone is None:
            errors.add(f"{path}.phone", "not a valid Chinese mobile or landline number (landlines need the area code)")
    else:
        owes_callback = callback_kind(category) is not None and callback.mode != "declined"
        if category in PHONE_REQUIRED or owes_callback:
            errors.add(f"{path}.phone", f"a phone number is required for a {category.value} ticket with a callback")
    id_card: str | None = None
    if customer.id_card_number:
        id_card = normalise_id_card(customer.id_card_number)
        if id_card is None:
            errors.add(f"{path}.id_card_number", "not a valid resident ID-card number")
    return phone, id_card


def check_description(errors: FieldErrors, category: Category, description: str, path: str = "description") -> None:
    if category in DESCRIPTION_REQUIRED and not description.strip():
        errors.add(path, f"a {category.value} ticket needs a description of what the caller reports")


def check_subtype(errors: FieldErrors, category: Category, subtype: Subtype | None, path: str = "subtype") -> None:
    allowed = SUBTYPES.get(category, frozenset())
    if allowed and subtype is None:
        names = ", ".join(sorted(s.value for s in allowed))
        errors.add(path, f"a {category.value} needs a sub-type: one of {names}")
    elif not allowed and subtype is not None:
        errors.add(path, f"category {category.value} has no sub-types")


def check_complaint(
    errors: FieldErrors, category: Category, complaint: ComplaintIn | None, branch: str, path: str = "complaint"
) -> None:
    if category is not Category.COMPLAINT:
        if complaint is not None:
            errors.add(path, "complaint details are only for a complaint ticket")
        return
    if complaint is None:
        errors.add(path, "a complaint needs its subject: place and complaint_type, or subject_key")
        return
    if complaint.subject_key:
        # RULES.md §4: a subject is branch|place|type; linking never crosses branches
        parts = complaint.subject_key.split("|")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            errors.add(f"{path}.subject_key", "a subject key reads branch|place|complaint_type")
        elif parts[0] != branch:
            errors.add(f"{path}.subject_key", "the subject belongs to another branch")
        return
    if not complaint.place:
        errors.add(f"{path}.place", "the place complained about is required (community, building or area)")
    if not complaint.complaint_type:
        errors.add(f"{path}.complaint_type", "the complaint type is required")


def check_callback(errors: FieldErrors, callback: CallbackIn, now: datetime, path: str = "callback") -> None:
    if callback.mode == "customer_time":
        if callback.requested_at is None:
            errors.add(f"{path}.requested_at", "the time the customer asked for is required")
        elif callback.requested_at <= now:
            errors.add(f"{path}.requested_at", "the customer's callback time must be in the future")
    elif callback.requested_at is not None:
        errors.add(f"{path}.requested_at", "a callback time is given only with mode customer_time")


def check_resolution(
    errors: FieldErrors, category: Category, resolution: ResolutionIn | None, path: str = "first_contact_resolution"
) -> None:
    if resolution is None:
        if category is Category.QUERY:
            # RULES.md §1 query: answered on the call after identity verification
            errors.add(path, "a query is answered on the call: give the answer")
        return
    if category not in CLOSABLE_ON_CALL:
        names = ", ".join(sorted(c.value for c in CLOSABLE_ON_CALL))
        errors.add(path, f"a {category.value} ticket cannot be closed on the call (only {names})")
