"""Personal-data masking for API responses and log records (RULES.md §6)."""

from __future__ import annotations

import ipaddress
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping, MutableMapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import PlainSerializer

MASK = "*"
# What replaces the hidden tail of an address or employer: a fixed width, so the length of
# the hidden part does not leak.
TAIL = "***"


class PersonalField(StrEnum):
    """The kinds of personal data the regulation names; each has one masking rule."""

    NAME = "name"
    PHONE = "phone"
    ID_NUMBER = "id_number"
    ADDRESS = "address"
    EMPLOYER = "employer"
    IP = "ip"
    ACCOUNT = "account"
    EMAIL = "email"


# Masking twice must not garble a value (a typed field in a masked mapping, a re-logged
# record). Each masker is either a fixed point on its own output (name, ID number, account,
# employer) or recognises exactly the shapes it produces (phone, IP). A value that merely
# *contains* `*` is never trusted: `*司马泄露` is a name like any other.
_MASKED_PHONE = re.compile(r"^(?:\d{3}\*{4}\d{4}|0\d{2,3}-\*{4}\d{3}|\*{4}\d{3}|\*{4})$")
_MASKED_IP = re.compile(r"^(?:\d{1,3}\.\d{1,3}\.\*\.\*|[0-9a-f]{4}:[0-9a-f]{4}:\*|\*{4})$")


def mask_name(value: str) -> str:
    """`张三` → `张*`, `张小明` → `张*明`: the first character (and the last from three on)."""
    name = value.strip()
    if not name:
        return name
    if len(name) == 1:
        return MASK
    if len(name) == 2:
        return name[0] + MASK
    return name[0] + MASK * (len(name) - 2) + name[-1]


_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def phone_digits(value: str) -> str:
    """The digits of a phone number, without a +86/0086 country prefix."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isdigit())
    if digits.startswith("0086"):
        digits = digits[2:]
    if digits.startswith("86") and len(digits) >= 11:
        rest = digits[2:]
        if _MOBILE.match(rest):
            return rest
        if len(rest) in (9, 10, 11) and not rest.startswith(("0", "1")):
            # an area code written without its trunk 0 after the country code
            return "0" + rest
    return digits


# Beijing, Tianjin, Shanghai, Chongqing and the 02x cities have three-digit area codes.
_SHORT_AREA = re.compile(r"^0(10|2\d)")


def mask_phone(value: str) -> str:
    """Mobile `13812345678` → `138****5678`; landline `0771-5678678` → `0771-****678`."""
    if not value.strip() or _MASKED_PHONE.match(value.strip()):
        return value.strip()
    digits = phone_digits(value)
    if _MOBILE.match(digits):
        return f"{digits[:3]}****{digits[-4:]}"
    if digits.startswith("0") and 10 <= len(digits) <= 12:
        area_len = 3 if _SHORT_AREA.match(digits) else 4
        return f"{digits[:area_len]}-****{digits[-3:]}"
    if len(digits) >= 7:
        # a local number without area code, an extension, a foreign number
        return f"****{digits[-3:]}"
    return MASK * 4


def normalise_id_number(value: str) -> str:
    """An ID-card number in canonical form: no spaces, check character `X` upper-case."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def mask_id_number(value: str) -> str:
    """Only the last four characters of an ID-card number stay visible."""
    number = normalise_id_number(value)
    if not number:
        return number
    if len(number) <= 4:
        return MASK * len(number)
    return MASK * (len(number) - 4) + number[-4:]


_ADMIN_LEVEL = re.compile(r".+?(?:自治区|特别行政区|自治州|自治县|地区|省|市|州|盟|区|县|旗)")
# A chunk that holds one of these is below district level: a street, a community, a house.
_BELOW_DISTRICT = re.compile(r"[路街道号巷弄村组栋楼室幢座苑园里\d]|小区|社区|园区|校区")


def mask_address(value: str) -> str:
    """Keep province / city / district (or the first segment), hide everything after it."""
    address = value.strip()
    if not address:
        return address
    kept = 0
    for _ in range(3):
        match = _ADMIN_LEVEL.match(address, kept)
        if match is None or len(match.group(0)) > 8 or _BELOW_DISTRICT.search(match.group(0)):
            break
        kept = match.end()
    if kept == 0:
        first = re.split(r"[\s,，;；]+", address, maxsplit=1)[0]
        kept = len(first) if len(first) < len(address) else min(2, len(address) - 1)
    if kept >= len(address):
        return address
    return address[:kept] + TAIL


def mask_employer(value: str) -> str:
    """`南宁市第一人民医院` → `南宁***`: the first two characters only."""
    employer = value.strip()
    if not employer:
        return employer
    return employer[: min(2, len(employer) - 1)] + TAIL


def mask_ip(value: str) -> str:
    """IPv4 `192.168.1.23` → `192.168.*.*`; IPv6 keeps its first two groups."""
    text = value.strip()
    if not text or _MASKED_IP.match(text):
        return text
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return MASK * 4
    if address.version == 4:
        head = text.split(".")[:2]
        return ".".join([*head, MASK, MASK])
    groups = address.exploded.split(":")[:2]
    return ":".join(groups) + ":*"


def mask_account(value: str) -> str:
    """A customer's account number: at most its last four characters, never half of it (§6, §14(一))."""
    account = "".join(unicodedata.normalize("NFKC", value).split())
    shown = min(4, len(account) // 2)
    return MASK * (len(account) - shown) + account[len(account) - shown :]


def mask_email(value: str) -> str:
    """`zhang.wei@example.com` → `z***@example.com`: the domain stays, the mailbox does not."""
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return mask_employer(text) if text else text
    return (local[:1] if local and local[0] != MASK else "") + TAIL + "@" + domain


MASKERS: Mapping[PersonalField, Callable[[str], str]] = {
    PersonalField.NAME: mask_name,
    PersonalField.PHONE: mask_phone,
    PersonalField.ID_NUMBER: mask_id_number,
    PersonalField.ADDRESS: mask_address,
    PersonalField.EMPLOYER: mask_employer,
    PersonalField.IP: mask_ip,
    PersonalField.ACCOUNT: mask_account,
    PersonalField.EMAIL: mask_email,
}


def mask(field: PersonalField, value: str) -> str:
    """Mask one value of a known kind."""
    return MASKERS[field](value)


# Response-model field types: a value declared with one of these is serialised masked, in
# every response that uses the model; only the explicit reveal call returns it in clear.
MaskedName = Annotated[str, PlainSerializer(mask_name, return_type=str)]
MaskedPhone = Annotated[str, PlainSerializer(mask_phone, return_type=str)]
MaskedIdNumber = Annotated[str, PlainSerializer(mask_id_number, return_type=str)]
MaskedAddress = Annotated[str, PlainSerializer(mask_address, return_type=str)]
MaskedEmployer = Annotated[str, PlainSerializer(mask_employer, return_type=str)]
MaskedIp = Annotated[str, PlainSerializer(mask_ip, return_type=str)]
MaskedAccount = Annotated[str, PlainSerializer(mask_account, return_type=str)]


# Key names that hold personal data, in logs and in JSON bodies. Matching is on the
# lower-cased key; the suffix rules catch `caller_phone`, `home_address` and the like.
_KEYS: dict[str, PersonalField] = {
    "name": PersonalField.NAME,
    "full_name": PersonalField.NAME,
    "customer_name": PersonalField.NAME,
    "caller_name": PersonalField.NAME,
    "contact_name": PersonalField.NAME,
    "complainant_name": PersonalField.NAME,
    "person_name": PersonalField.NAME,
    "phone": PersonalField.PHONE,
    "mobile": PersonalField.PHONE,
    "tel": PersonalField.PHONE,
    "telephone": PersonalField.PHONE,
    "caller_number": PersonalField.PHONE,
    "ani": PersonalField.PHONE,
    "id_number": PersonalField.ID_NUMBER,
    "id_card": PersonalField.ID_NUMBER,
    "idcard": PersonalField.ID_NUMBER,
    "id_card_number": PersonalField.ID_NUMBER,
    "address": PersonalField.ADDRESS,
    "employer": PersonalField.EMPLOYER,
    "work_unit": PersonalField.EMPLOYER,
    "ip": PersonalField.IP,
    "client_ip": PersonalField.IP,
    "remote_addr": PersonalField.IP,
    "ip_address": PersonalField.IP,
    "account_number": PersonalField.ACCOUNT,
    "account_no": PersonalField.ACCOUNT,
    "account": PersonalField.ACCOUNT,
    "email": PersonalField.EMAIL,
    "e_mail": PersonalField.EMAIL,
    "mail": PersonalField.EMAIL,
}
_SUFFIXES: tuple[tuple[str, PersonalField], ...] = (
    ("_phone", PersonalField.PHONE),
    ("_mobile", PersonalField.PHONE),
    ("_id_number", PersonalField.ID_NUMBER),
    ("_address", PersonalField.ADDRESS),
    ("_employer", PersonalField.EMPLOYER),
    ("_ip", PersonalField.IP),
    ("_account_number", PersonalField.ACCOUNT),
    ("_email", PersonalField.EMAIL),
)


def field_for_key(key: str) -> PersonalField | None:
    """The kind of personal data a key name holds, or None for an ordinary key."""
    lowered = key.lower()
    if lowered in _KEYS:
        return _KEYS[lowered]
    for suffix, field in _SUFFIXES:
        if lowered.endswith(suffix):
            return field
    return None


# Free-text patterns. Names cannot be found by pattern: they are masked by key name only,
# which is why log calls pass personal data as keyword fields. Digits may be full-width
# (`\d` matches them; the literals below list both widths) and grouped by spaces or dashes.
_D = r"\d"
_SEP = r"[\s\-－]?"
_MOBILE_HEAD = "[1１][3-9３-９]"
# an 18-character ID-card number, or a 15-digit one of the first generation (region, YYMMDD, 3)
_ID_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z０-９])"
    r"(?:\d{17}[\dXxＸｘ]|[1-8１-８]\d{7}(?:[0０][1-9１-９]|[1１][0-2０-２])\d{5})"
    r"(?![0-9A-Za-z０-９])"
)
# Neither a letter nor a dash may touch a number: a UUID's all-digit groups are not phones.
_BEFORE = r"(?<![\dA-Za-z+＋\-－])"
_AFTER = r"(?![\dA-Za-z\-－])"
_MOBILE_IN_TEXT = re.compile(
    rf"{_BEFORE}(?:(?:[+＋]|00|００)?[8８][6６]{_SEP})?{_MOBILE_HEAD}{_D}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}}{_AFTER}"
)
# an area code 0xx / 0xxx (bare, or in ASCII or full-width brackets), then 7-8 digits
_LANDLINE_IN_TEXT = re.compile(
    rf"{_BEFORE}(?:[(（]\s*[0０]{_D}{{2,3}}\s*[)）]\s*|[0０]{_D}{{2,3}}{_SEP}){_D}{{3,4}}{_SEP}{_D}{{4}}{_AFTER}"
)
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def mask_text(text: str) -> str:
    """Mask ID-card numbers, phone numbers and e-mail addresses wherever they appear in free text."""
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0)), text)
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)
    return _LANDLINE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def mask_data(value: Any, key: str | None = None) -> Any:
    """Mask a JSON-like value: personal keys by their rule, every string by pattern."""
    field = field_for_key(key) if key is not None else None
    if isinstance(value, str):
        return mask(field, value) if field is not None else mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_data(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(item, key) for item in value]
    if field is not None and value is not None and not isinstance(value, bool | float):
        # an int phone number is still a phone number
        return mask(field, str(value))
    return value


def mask_log_record(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask personal data by key name and by pattern in every record.

    Put it after `format_exc_info` / `StackInfoRenderer` (so tracebacks are masked too) and
    right before the renderer.
    """
    for key, value in list(event_dict.items()):
        if isinstance(value, str | Mapping | list | tuple | int) and not isinstance(value, bool):
            event_dict[key] = mask_data(value, key)
        elif value is not None and not isinstance(value, bool | float):
            # exceptions and other objects: mask what their text would show
            event_dict[key] = mask_text(str(value))
    return event_dict


class PersonalDataLogFilter(logging.Filter):
    """stdlib logging filter: the same masking for records of libraries that log directly."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        record.exc_info = None
        return True


def log_processors() -> list[Any]:
    """The structlog processor chain every service uses, masking last before the renderer.

    `structlog.configure(processors=[*log_processors(), structlog.processors.JSONRenderer()])`
    in a service's bootstrap; exceptions are rendered to text first so they are masked too.
    """
    import structlog

    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        mask_log_record,
    ]


def install_stdlib_log_filter(logger: logging.Logger | None = None) -> None:
    """Mask stdlib records (uvicorn, libraries) on every handler of a logger (default root)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, PersonalDataLogFilter) for f in handler.filters):
            handler.addFilter(PersonalDataLogFilter())
