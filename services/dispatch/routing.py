"""The org tree of a branch (center → divisions → units), its routing rules, and the pure routing decision."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shared.branch_config import config_dirs
from shared.policy.categories import Category, Subtype
from shared.policy.service_areas import AreaRule, check_rule, specificity

AGENT_SELECTED_RULE = "agent-selected"
"""The rule id recorded when the agent chose the unit on the call (RULES.md §1, §15(一)3)."""


class OrgConfigError(ValueError):
    """An org file or an admin edit that cannot be used; `field` names the input at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Division:
    division_id: str
    name: str
    active: bool = True


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str
    division_id: str
    duty_phone: str | None = None  # the unit's duty line for urgent notices, not personal data
    active: bool = True


@dataclass(frozen=True)
class RoutingRule:
    """Sends a ticket to `unit_id` when every criterion it names matches (any value of a list).

    A rule names a category criterion, an area criterion, or both; a rule with none would be a
    catch-all that guesses, and is refused.
    """

    rule_id: str
    unit_id: str
    categories: tuple[Category, ...] = ()
    subtypes: tuple[Subtype, ...] = ()
    districts: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    address_patterns: tuple[str, ...] = ()  # shell-style patterns, e.g. "*民族大道*"

    def __post_init__(self) -> None:
        if not (self.categories or self.subtypes or self.districts or self.communities or self.address_patterns):
            raise OrgConfigError(f"rules.{self.rule_id}", "a rule needs at least one criterion (no catch-all rules)")

    @property
    def specificity(self) -> tuple[int, int]:
        """(category part, area part): a category rule beats an area rule; a narrower criterion beats a wider."""
        return specificity(
            subtypes=bool(self.subtypes),
            categories=bool(self.categories),
            communities=bool(self.communities),
            address_patterns=bool(self.address_patterns),
            districts=bool(self.districts),
        )

    def matches(self, ticket: RoutingInput) -> bool:
        if self.categories and ticket.category not in self.categories:
            return False
        if self.subtypes and ticket.subtype not in self.subtypes:
            return False
        if self.districts and (ticket.district or "") not in self.districts:
            return False
        if self.communities and (ticket.community or "") not in self.communities:
            return False
        if self.address_patterns:
            address = ticket.address or ""
            if not address or not any(fnmatch.fnmatchcase(address, p) for p in self.address_patterns):
                return False
        return True


@dataclass(frozen=True)
class OrgTree:
    """One branch's organisation and routing rules (rules in file order)."""

    branch: str
    center_id: str
    center_name: str
    divisions: Mapping[str, Division]
    units: Mapping[str, Unit]
    rules: tuple[RoutingRule, ...] = ()

    def active_unit(self, unit_id: str | None) -> Unit | None:
        unit = self.units.get(unit_id) if unit_id else None
        if unit is None or not unit.active:
            return None
        division = self.divisions.get(unit.division_id)
        return unit if division is not None and division.active else None


@dataclass(frozen=True)
class RoutingInput:
    """What routing looks at: the classification and the place of the request."""

    category: Category
    subtype: Subtype | None = None
    district: str | None = None
    community: str | None = None
    address: str | None = None
    selected_unit_id: str | None = None  # the agent's choice on the call, if any


@dataclass(frozen=True)
class RoutingDecision:
    """A unit and the rule that chose it, or why no unit could be chosen (never a guess)."""

    unit_id: str | None
    division_id: str | None
    rule_id: str | None
    unroutable: Literal["no_matching_rule", "ambiguous_rules"] | None = None
    detail: str = ""
    candidates: tuple[str, ...] = field(default_factory=tuple)

    @property
    def routed(self) -> bool:
        return self.unit_id is not None


def route(ticket: RoutingInput, org: OrgTree) -> RoutingDecision:
    """The unit for `ticket`: the agent's choice if it exists, else the most specific matching rule.

    Ties between rules of equal specificity that name different units are ambiguous: the ticket
    goes to the center's manual queue rather than to a unit picked by file order.
    """
    chosen = org.active_unit(ticket.selected_unit_id)
    if chosen is not None:
        # RULES.md §1 / §15(一)3: the agent selects category and unit on the call
        return RoutingDecision(chosen.unit_id, chosen.division_id, AGENT_SELECTED_RULE)
    matching = [rule for rule in org.rules if org.active_unit(rule.unit_id) is not None and rule.matches(ticket)]
    if not matching:
        detail = "no routing rule matches"
        if ticket.selected_unit_id:
            detail = f"the selected unit {ticket.selected_unit_id!r} is not an active unit; {detail}"
        return RoutingDecision(None, None, None, unroutable="no_matching_rule", detail=detail)
    best = max(rule.specificity for rule in matching)
    top = [rule for rule in matching if rule.specificity == best]
    units = tuple(dict.fromkeys(rule.unit_id for rule in top))
    if len(units) > 1:
        names = ", ".join(rule.rule_id for rule in top)
        return RoutingDecision(
            None, None, None, unroutable="ambiguous_rules", detail=f"rules {names} disagree", candidates=units
        )
    unit = org.units[units[0]]
    return RoutingDecision(unit.unit_id, unit.division_id, top[0].rule_id)


# --------------------------------------------------------------------------- org files


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise OrgConfigError(key, "expected a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _enum_values(key: str, values: Iterable[str], kind: type[Category] | type[Subtype]) -> tuple[Any, ...]:
    out = []
    for value in values:
        try:
            out.append(kind(value))
        except ValueError:
            accepted = ", ".join(m.value for m in kind)
            raise OrgConfigError(key, f"unknown value {value!r}; expected one of {accepted}") from None
    return tuple(out)


def rule_from_mapping(rule_id: str, data: Mapping[str, Any]) -> RoutingRule:
    """A routing rule from its file or API form; OrgConfigError names the faulty field."""
    key = f"rules.{rule_id}"
    unit_id = data.get("unit")
    if not isinstance(unit_id, str) or not unit_id.strip():
        raise OrgConfigError(f"{key}.unit", "the unit this rule dispatches to is required")
    return RoutingRule(
        rule_id=rule_id,
        unit_id=unit_id.strip(),
        categories=_enum_values(f"{key}.categories", _strings(f"{key}.categories", data.get("categories")), Category),
        subtypes=_enum_values(f"{key}.subtypes", _strings(f"{key}.subtypes", data.get("subtypes")), Subtype),
        districts=_strings(f"{key}.districts", data.get("districts")),
        communities=_strings(f"{key}.communities", data.get("communities")),
        address_patterns=_strings(f"{key}.address_patterns", data.get("address_patterns")),
    )


def validate_org(org: OrgTree) -> OrgTree:
    """Every division, unit and rule points at something that exists; ids are unique."""
    for unit in org.units.values():
        if unit.division_id not in org.divisions:
            raise OrgConfigError(f"units.{unit.unit_id}.division", f"unknown division {unit.division_id!r}")
    seen: set[str] = set()
    for rule in org.rules:
        if rule.rule_id in seen:
            raise OrgConfigError(f"rules.{rule.rule_id}", "rule ids must be unique")
        seen.add(rule.rule_id)
        if rule.unit_id not in org.units:
            raise OrgConfigError(f"rules.{rule.rule_id}.unit", f"unknown unit {rule.unit_id!r}")
    return org


def check_new_rule(org: OrgTree, rule: RoutingRule) -> None:
    """An admin's new or changed rule must route somewhere and not tie with another unit's rule (OrgConfigError).

    An unknown unit is left to `validate_org`, which names it.
    """
    if rule.unit_id not in org.units:
        return
    others = [AreaRule.of(describe_rule(r)) for r in org.rules if r.rule_id != rule.rule_id]
    active = [unit_id for unit_id in org.units if org.active_unit(unit_id) is not None]
    problem = check_rule(AreaRule.of(describe_rule(rule)), others, active)
    if problem is not None:
        raise OrgConfigError(problem.field, problem.message)


def org_from_mapping(branch: str, data: Mapping[str, Any]) -> OrgTree:
    """An org tree from a parsed org file (see shared/config/orgs/default.toml)."""
    center = data.get("center")
    if not isinstance(center, Mapping) or not isinstance(center.get("id"), str):
        raise OrgConfigError("center.id", "the branch's customer-service center needs an id")
    divisions: dict[str, Division] = {}
    for entry in data.get("divisions", []):
        division_id = entry.get("id") if isinstance(entry, Mapping) else None
        if not isinstance(division_id, str) or not division_id:
            raise OrgConfigError("divisions", "every division needs an id")
        if division_id in divisions:
            raise OrgConfigError(f"divisions.{division_id}", "division ids must be unique")
        divisions[division_id] = Division(division_id, str(entry.get("name", division_id)))
    units: dict[str, Unit] = {}
    for entry in data.get("units", []):
        unit_id = entry.get("id") if isinstance(entry, Mapping) else None
        if not isinstance(unit_id, str) or not unit_id:
            raise OrgConfigError("units", "every unit needs an id")
        if unit_id in units:
            raise OrgConfigError(f"units.{unit_id}", "unit ids must be unique")
        phone = entry.get("duty_phone")
        units[unit_id] = Unit(
            unit_id, str(entry.get("name", unit_id)), str(entry.get("division", "")), str(phone) if phone else None
        )
    rules = []
    for entry in data.get("rules", []):
        rule_id = entry.get("id") if isinstance(entry, Mapping) else None
        if not isinstance(rule_id, str) or not rule_id:
            raise OrgConfigError("rules", "every rule needs an id")
        rules.append(rule_from_mapping(rule_id, entry))
    org = OrgTree(branch, center["id"], str(center.get("name", center["id"])), divisions, units, tuple(rules))
    return validate_org(org)


def org_file_for(branch: str, env: Mapping[str, str] | None = None) -> Path | None:
    """The org file of `branch`: the admin folder first, then the packaged `shared/config/orgs/`."""
    for folder in config_dirs(env):
        path = folder / "orgs" / f"{branch}.toml"
        if path.is_file():
            return path
    return None


def org_branches(env: Mapping[str, str] | None = None) -> list[str]:
    """Every branch that has an org file."""
    return sorted({p.stem for folder in config_dirs(env) for p in folder.glob("orgs/*.toml")})


def load_org_file(path: Path, branch: str | None = None) -> OrgTree:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise OrgConfigError(str(path), str(error)) from None
    try:
        return org_from_mapping(branch or path.stem, data)
    except OrgConfigError as error:
        raise OrgConfigError(f"{path} {error.field}", error.message) from None


def describe_rule(rule: RoutingRule) -> dict[str, Sequence[str] | str]:
    """The rule as the admin API and the org file write it."""
    return {
        "id": rule.rule_id,
        "unit": rule.unit_id,
        "categories": [c.value for c in rule.categories],
        "subtypes": [s.value for s in rule.subtypes],
        "districts": list(rule.districts),
        "communities": list(rule.communities),
        "address_patterns": list(rule.address_patterns),
    }
