"""Mobile numbers an SMS can go to: parsed and checked by phonenumbers, kept in E.164."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    """Not a number an SMS can reach; the message names the (masked) number and why."""


def mobile_number(raw: str, region: str = "CN") -> str:
    """The E.164 form of a valid mobile number (a landline cannot take an SMS)."""
    shown = raw[:3] + "****" + raw[-2:] if len(raw) > 6 else "****"
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"{shown} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{shown} is not a valid phone number")
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidPhone(f"{shown} is not a mobile number (an SMS cannot reach it)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
