"""What the console's forms carry, and how intake's field paths map onto the form's inputs."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData

from shared.policy.categories import SUBTYPES, Category, parse_category
from shared.policy.work_order import required_fields

# intake's 422 field paths -> the form input shown beside the message
FIELD_OF_API = {
    "category": "category",
    "subtype": "subtype",
    "description": "description",
    "customer.name": "customer_name",
    "name": "customer_name",
    "customer.phone": "phone",
    "phone": "phone",
    "customer.address": "address",
    "address": "address",
    "scene": "description",
    "location.district": "district",
    "customer.id_card_number": "id_card_number",
    "complaint": "complaint_place",
    "complaint.place": "complaint_place",
    "complaint.complaint_type": "complaint_type",
    "complaint.subject_key": "complaint_place",
    "callback.requested_at": "callback_at",
    "first_contact_resolution": "answer",
    "first_contact_resolution.answer": "answer",
}
# shared/policy/work_order.py's names -> the form's inputs
INPUT_OF_REQUIRED = {
    "description": "description",
    "customer.name": "customer_name",
    "customer.phone": "phone",
    "customer.address": "address",
    "subtype": "subtype",
    "complaint.place": "complaint_place",
    "complaint.complaint_type": "complaint_type",
    "first_contact_resolution.answer": "answer",
}


def form_field(api_path: str) -> str:
    """`body.customer.phone` -> `phone`; `body.requests.1.subtype` -> `requests.1.subtype`."""
    path = api_path.removeprefix("body.")
    if path.startswith("requests."):
        # a request's complaint subject is asked once, in the complaint inputs
        rest = path.split(".", 2)[2] if path.count(".") >= 2 else ""
        return FIELD_OF_API[rest] if rest.startswith("complaint") and rest in FIELD_OF_API else path
    return FIELD_OF_API.get(path, "form")


@dataclass
class ExtraRequest:
    """Another request raised on the same call (RULES.md §1: one call, several requests)."""

    category: str
    subtype: str = ""
    description: str = ""
    unit_id: str = ""


@dataclass
class WorkOrderForm:
    """The new work order form as the agent filled it (text as typed; intake validates it)."""

    category: str = ""
    subtype: str = ""
    description: str = ""
    customer_name: str = ""
    phone: str = ""
    address: str = ""
    district: str = ""
    community: str = ""
    account_number: str = ""
    id_card_number: str = ""
    hazardous: bool = False
    urgent: bool = False
    key_customer: bool = False
    callback_mode: str = "required"
    callback_at: str = ""
    complaint_place: str = ""
    complaint_type: str = ""
    complainant_count: str = "1"
    litigation: bool = False
    media_exposure: bool = False
    resolve_on_call: bool = False
    answer: str = ""
    unit_phoned_at: str = ""
    call_id: str = ""
    unit_id: str = ""
    requests: list[ExtraRequest] = field(default_factory=list)
    parent_ticket_id: str = ""  # a request raised on that ticket's callback, sent again (issue 16)
    knowledge_article_id: str = ""  # the article the answer on the call came from (issue 19)

    @classmethod
    def from_form(cls, form: FormData) -> WorkOrderForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        def flag(name: str) -> bool:
            return text(name) in ("on", "true", "1", "yes")

        requests = []
        for i in range(1, 10):
            category = text(f"requests.{i}.category")
            if category:
                requests.append(
                    ExtraRequest(
                        category,
                        text(f"requests.{i}.subtype"),
                        text(f"requests.{i}.description"),
                        text(f"requests.{i}.unit_id"),
                    )
                )
        return cls(
            category=text("category"),
            subtype=text("subtype"),
            description=text("description"),
            customer_name=text("customer_name"),
            phone=text("phone"),
            address=text("address"),
            district=text("district"),
            community=text("community"),
            account_number=text("account_number"),
            id_card_number=text("id_card_number"),
            hazardous=flag("hazardous"),
            urgent=flag("urgent"),
            key_customer=flag("key_customer"),
            callback_mode=text("callback_mode") or "required",
            callback_at=text("callback_at"),
            complaint_place=text("complaint_place"),
            complaint_type=text("complaint_type"),
            complainant_count=text("complainant_count") or "1",
            litigation=flag("litigation"),
            media_exposure=flag("media_exposure"),
            resolve_on_call=flag("resolve_on_call"),
            answer=text("answer"),
            unit_phoned_at=text("unit_phoned_at"),
            call_id=text("call_id"),
            unit_id=text("unit_id"),
            requests=requests,
            parent_ticket_id=text("parent_ticket_id"),
            knowledge_article_id=text("knowledge_article_id"),
        )

    @property
    def category_key(self) -> Category | None:
        try:
            return parse_category(self.category) if self.category else None
        except ValueError:
            return None

    def required(self) -> frozenset[str]:
        """The inputs this category requires (RULES.md §1, shared/policy/work_order.py)."""
        category = self.category_key
        if category is None:
            return frozenset({"category"})
        fields = required_fields(category, callback_declined=self.callback_mode == "declined")
        return frozenset({"category", *(INPUT_OF_REQUIRED[f] for f in fields)})

    @property
    def has_subtypes(self) -> bool:
        category = self.category_key
        return bool(category and SUBTYPES.get(category))
