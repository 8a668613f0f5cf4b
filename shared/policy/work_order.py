"""What a work order must name per category (RULES.md §1): one source for intake's checks and the console's form."""

from __future__ import annotations

from shared.policy.categories import SUBTYPES, Category
from shared.policy.limits import callback_kind

# RULES.md §1: an address for alarms, repairs and service requests (someone goes there)
ADDRESS_REQUIRED = frozenset({Category.ALARM, Category.REPAIR, Category.SERVICE_REQUEST})
# RULES.md §1: alarms name who called
NAME_REQUIRED = frozenset({Category.ALARM})
PHONE_REQUIRED = frozenset({Category.ALARM, Category.REPAIR, Category.SERVICE_REQUEST, Category.COMPLAINT})
# RULES.md §1: what the caller reports is the work (an alarm's scene, the fault, the request, the complaint,
# the question): every category but a query, which is answered on the call after identity verification
DESCRIPTION_REQUIRED = frozenset(Category) - {Category.QUERY}
# RULES.md §1: what an agent may close on the call (query, consultation, simple repair, praise)
CLOSABLE_ON_CALL = frozenset({Category.QUERY, Category.CONSULTATION, Category.REPAIR, Category.PRAISE})
# RULES.md §1 alarm: what the agent reads to the caller before hanging up
SAFETY_PRECAUTIONS: tuple[str, ...] = (
    "立即关闭燃气表前阀门或总阀。 Close the gas valve at the meter at once.",
    "打开门窗通风，不要开关任何电器、不要使用明火或手机。 Open doors and windows; do not switch any "
    "electrical appliance on or off, use no open flame and no phone indoors.",
    "人员立即撤离到室外安全地带，在室外等候抢修人员。 Leave the building and wait outside for the crew.",
    "如有人员不适或起火，立即拨打 119 / 120。 If anyone feels unwell or there is fire, call 119 / 120.",
)
# RULES.md §1 query: answered on the call after identity verification, never dispatched
ANSWERED_ON_CALL = frozenset({Category.QUERY})


def required_fields(category: Category, *, callback_declined: bool = False) -> frozenset[str]:
    """The form fields a work order of `category` cannot be created without.

    Names: `description`, `customer.name`, `customer.phone`, `customer.address`, `subtype`, `complaint.place`,
    `complaint.complaint_type`, `first_contact_resolution.answer`.
    """
    fields: set[str] = set()
    if category in ADDRESS_REQUIRED:
        fields.add("customer.address")
    if category in NAME_REQUIRED:
        fields.add("customer.name")
    # RULES.md §5: a callback is owed unless the customer declined it, and needs a number to call
    owes_callback = callback_kind(category) is not None and not callback_declined
    if category in PHONE_REQUIRED or owes_callback:
        fields.add("customer.phone")
    if SUBTYPES.get(category):
        fields.add("subtype")
    if category in DESCRIPTION_REQUIRED:
        fields.add("description")
    if category is Category.COMPLAINT:
        fields |= {"complaint.place", "complaint.complaint_type"}
    if category in ANSWERED_ON_CALL:
        fields.add("first_contact_resolution.answer")
    return frozenset(fields)
