"""The customers' self-service pages (issue 21 part 3): calls to outbound's customer API, form checks, messages.

The customer's session is outbound's (a code by SMS traded for a token that reaches only that phone's tickets);
the console keeps nothing of it but the browser's cookie. The form is checked with the same rule as the agents'
(shared/policy/work_order.py) before intake checks it again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from typing import Any

from services.console.clients import ApiFailure, Apis
from shared.policy.categories import Category
from shared.policy.photos import MAX_PHOTO_BYTES, Photo, PhotoProblem, check_photos, megabytes
from shared.policy.self_service import WEB_CATEGORIES
from shared.policy.work_order import required_fields

CUSTOMER_COOKIE = "hotline_customer"
CUSTOMER_PHONE_COOKIE = "hotline_customer_phone"  # the masked number, to say who is signed in
SUBTYPES = ("installation", "alteration", "conversion", "safety_inspection")
COMPLAINT_TYPES = {
    "service_attitude": "Service attitude",
    "billing": "Billing",
    "repair_quality": "Quality of the repair",
    "gas_supply": "Gas supply",
    "other": "Something else",
}
# what a customer is told each step means (shared/policy/self_service.py CustomerStep; msgids of the catalog)
STEP_LABELS = {
    "received": "Request received",
    "dispatched": "Sent to the team that handles it",
    "accepted": "Taken on by the team",
    "contacted": "The team has contacted you",
    "appointment": "Visit arranged",
    "replied": "Handled, being checked",
    "resolved": "Resolved",
    "reopened": "Being handled again",
    "closed": "Closed",
}
RATING_LABELS = {
    5: "5 · Very satisfied",
    4: "4 · Satisfied",
    3: "3 · Neither satisfied nor dissatisfied",
    2: "2 · Dissatisfied",
    1: "1 · Very dissatisfied",
}
FORM_FIELDS = ("category", "subtype", "description", "name", "address", "district", "place", "complaint_type")
# intake's (and outbound's) field paths -> the page's inputs
_API_FIELDS = {
    "body.category": "category",
    "body.subtype": "subtype",
    "body.description": "description",
    "body.customer.name": "name",
    "body.customer.address": "address",
    "body.location.district": "district",
    "body.complaint.place": "place",
    "body.complaint.complaint_type": "complaint_type",
    "body.complaint": "place",
}
_REQUIRED_TO_FORM = {
    "customer.address": "address",
    "customer.name": "name",
    "subtype": "subtype",
    "description": "description",
    "complaint.place": "place",
    "complaint.complaint_type": "complaint_type",
}
# what to say beside an input (msgids of the catalog)
MISSING = {
    "category": "Choose what you want to tell us",
    "subtype": "Choose the kind of service",
    "description": "Describe what happened or what you need",
    "name": "Enter your name",
    "address": "Enter the address, like 青秀区民族大道100号",
    "district": "Enter the district",
    "place": "Enter the place the complaint is about, like a community or building",
    "complaint_type": "Choose what the complaint is about",
}


@dataclass
class Refusal(Exception):
    """What the page shows beside its inputs: {input: message}, and numbers to put in the messages."""

    errors: dict[str, str]
    facts: dict[str, str] = field(default_factory=dict)
    signed_out: bool = False


def _headers(token: str | None) -> dict[str, str]:
    return {"X-Customer-Session": token} if token else {}


def _refusal(failure: ApiFailure, input_name: str, messages: dict[str, str]) -> Refusal:
    if failure.status == 401:
        return Refusal({}, signed_out=True)
    message = messages.get(failure.code)
    if message is None:
        message = "This service is not available right now. Try again in a few minutes."
    return Refusal({input_name: message})


CODE_MESSAGES = {
    "invalid_phone": "Enter a mobile number, like 13800001001",
    "too_soon": "Wait {seconds} seconds before asking for another code",
    "code_wrong": "The code is not right. {left} tries left",
    "code_locked": "Too many wrong codes. Ask for a new code",
    "code_expired": "This code has expired. Ask for a new code",
}
# too many codes asked, or tried, from this device whatever the phones (outbound's per-client limits)
TOO_MANY = {
    "phone": "Too many codes were asked from this device. Try again in {seconds} seconds",
    "code": "Too many codes were tried from this device. Try again in {seconds} seconds",
}


async def _code_call(path: str, apis: Apis, body: dict[str, str], client: str | None, field: str) -> dict[str, Any]:
    """A code asked or tried at outbound with the browser's address (outbound's limits per client trust it from
    the console only); its refusal beside `field` with the numbers it names."""
    try:
        answer: dict[str, Any] = await apis.call(
            "outbound", "POST", path, None, json=body, headers={"X-Customer-Address": client} if client else {}
        )
    except ApiFailure as failure:
        refusal = _refusal(failure, field, {**CODE_MESSAGES, "too_many_requests": TOO_MANY[field]})
        refusal.facts = _facts(failure)
        raise refusal from None
    return answer


async def ask_code(apis: Apis, branch: str, phone: str, client: str | None = None) -> dict[str, Any]:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) != 11 or not digits.startswith("1"):
        raise Refusal({"phone": CODE_MESSAGES["invalid_phone"]})
    return await _code_call("/api/v1/self-service/codes", apis, {"branch": branch, "phone": digits}, client, "phone")


def _facts(failure: ApiFailure) -> dict[str, str]:
    """The numbers a refusal names (seconds to wait, tries left), from its field message."""
    words = [w for w in " ".join(failure.fields.values()).replace(":", " ").split() if w.isdigit()]
    if failure.code in ("too_soon", "too_many_requests") and words:
        return {"seconds": words[0]}
    if failure.code == "code_wrong" and words:
        return {"left": words[0]}
    return {}


async def sign_in(apis: Apis, challenge: str, code: str, client: str | None = None) -> dict[str, Any]:
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        raise Refusal({"code": "Enter the 6-digit code from the SMS"})
    body = {"challenge_id": challenge, "code": code}
    return await _code_call("/api/v1/self-service/sessions", apis, body, client, "code")


async def sign_out(apis: Apis, token: str | None) -> None:
    if token:
        try:
            await apis.call("outbound", "DELETE", "/api/v1/self-service/sessions", None, headers=_headers(token))
        except ApiFailure:
            pass  # the cookie goes anyway; the session ends on its own


async def own_tickets(apis: Apis, token: str | None) -> list[dict[str, Any]]:
    try:
        answer: list[dict[str, Any]] = await apis.call(
            "outbound", "GET", "/api/v1/self-service/tickets", None, headers=_headers(token)
        )
    except ApiFailure as failure:
        raise _refusal(failure, "number", {}) from None
    return answer


async def own_ticket(apis: Apis, token: str | None, number: str) -> dict[str, Any]:
    if not number.strip():
        raise Refusal({"number": "Enter the ticket number, like GX-20261201-000123"})
    try:
        answer: dict[str, Any] = await apis.call(
            "outbound", "GET", f"/api/v1/self-service/tickets/{number.strip()}", None, headers=_headers(token)
        )
    except ApiFailure as failure:
        raise _refusal(failure, "number", {"not_found": "No ticket of yours has this number"}) from None
    return answer


def check_request(form: dict[str, str]) -> dict[str, str]:
    """The inputs a request cannot go without, by the agents' own rule (RULES.md §1, shared/policy/work_order.py)."""
    category = form.get("category", "")
    if category not in WEB_CATEGORIES:
        return {"category": MISSING["category"]}
    errors: dict[str, str] = {}
    for name in sorted(required_fields(Category(category))):
        target = _REQUIRED_TO_FORM.get(name)
        if target and not form.get(target, "").strip():
            errors[target] = MISSING[target]
    if category == "service_request" and form.get("subtype") and form["subtype"] not in SUBTYPES:
        errors["subtype"] = MISSING["subtype"]
    if category == "complaint" and form.get("complaint_type") and form["complaint_type"] not in COMPLAINT_TYPES:
        errors["complaint_type"] = MISSING["complaint_type"]
    return errors


def request_body(form: dict[str, str]) -> dict[str, Any]:
    category = form["category"]
    body: dict[str, Any] = {"category": category, "description": form.get("description", "").strip()}
    for name in ("name", "address", "district"):
        if form.get(name, "").strip():
            body[name] = form[name].strip()
    if category == "service_request":
        body["subtype"] = form.get("subtype") or None
    if category == "complaint":
        body["place"] = form.get("place", "").strip() or None
        body["complaint_type"] = form.get("complaint_type") or None
    return body


# why a photo is refused (msgids of the catalog, with %(...)s values)
PHOTO_MESSAGES = {
    "too_many": "At most %(limit)s photos",
    "empty": "%(name)s is empty",
    "too_large": "%(name)s is %(size)s MB; at most %(limit)s MB",
    "not_a_photo": "%(name)s is not a photo (JPEG, PNG or WebP)",
}


def photo_message(problem: PhotoProblem) -> tuple[str, dict[str, str]]:
    """A refused photo as the page says it: the msgid and its values."""
    limit = str(problem.limit) if problem.kind == "too_many" else megabytes(problem.limit)
    return PHOTO_MESSAGES[problem.kind], {
        "name": problem.filename,
        "size": megabytes(problem.size_bytes),
        "limit": limit,
    }


def check_uploads(
    files: list[tuple[str, bytes]], sizes: list[int] | None = None
) -> tuple[list[Photo], list[tuple[str, dict[str, str]]]]:
    """The photos chosen on the form (shared/policy/photos.py), or what to say beside the field; `sizes` are the
    files' real sizes when only their first READ_LIMIT bytes were read (a 12 MB photo is said as 12 MB)."""
    photos, problems = check_photos(files)
    real = sizes or []
    problems = [
        replace(p, size_bytes=max(p.size_bytes, real[p.index]))
        if p.kind == "too_large" and p.index is not None and p.index < len(real)
        else p
        for p in problems
    ]
    return photos, [photo_message(p) for p in problems]


READ_LIMIT = MAX_PHOTO_BYTES + 1  # a larger upload is refused on its size without reading the rest


def photos_body(photos: list[Photo]) -> list[dict[str, str]]:
    return [{"filename": p.filename, "content_base64": base64.b64encode(p.data).decode()} for p in photos]


async def raise_request(
    apis: Apis, token: str | None, form: dict[str, str], key: str, photos: list[Photo] | None = None
) -> dict[str, Any]:
    errors = check_request(form)
    if errors:
        raise Refusal(errors)
    body = request_body(form)
    if photos:
        body["photos"] = photos_body(photos)
    try:
        answer: dict[str, Any] = await apis.call(
            "outbound",
            "POST",
            "/api/v1/self-service/tickets",
            None,
            json=body,
            headers={**_headers(token), "Idempotency-Key": key},
        )
    except ApiFailure as failure:
        if failure.status == 401:
            raise Refusal({}, signed_out=True) from None
        errors = {}
        for path, message in failure.fields.items():
            target = _API_FIELDS.get(path)
            if target:
                errors[target] = MISSING.get(target, message)
            elif path.startswith("body.photos"):
                errors["photos"] = "A photo could not be taken. Choose JPEG, PNG or WebP photos of at most 5 MB."
        raise Refusal(errors or {"form": "Your request could not be sent. Check it and send it again."}) from None
    return answer


async def rate(apis: Apis, token: str | None, number: str, rating: str, comment: str) -> None:
    if rating not in {"1", "2", "3", "4", "5"}:
        raise Refusal({"rating": "Choose how satisfied you are, from 1 to 5"})
    if len(comment) > 500:
        raise Refusal({"comment": "Keep the comment under 500 characters"})
    try:
        await apis.call(
            "outbound",
            "POST",
            f"/api/v1/self-service/tickets/{number}/rating",
            None,
            json={"rating": int(rating), "comment": comment.strip()},
            headers=_headers(token),
        )
    except ApiFailure as failure:
        messages = {
            "not_finished": "You can rate a ticket once it is closed",
            "already_rated": "You have rated this ticket already",
        }
        raise _refusal(failure, "rating", messages) from None
