"""Schemathesis over every operation of every service's API, as each role (issue 14): no server error, and every
answer (status, content type, body) is one the OpenAPI document declares.

The services run as real processes on real Kafka and PostgreSQL (a system of its own, so the random work orders
never reach the stories' inboxes). Bounded: FUZZ_EXAMPLES cases per operation, FUZZ_SECONDS per service at most.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from shared.auth.roles import Role
from tests.e2e.conftest import launch_system
from tests.e2e.harness import System

# every service's API (shared.runtime.SERVICES; the console is a page server, its forms have tests of their own)
FUZZED = ("intake", "dispatch", "sla_monitor", "callback", "identity", "knowledge", "reporting", "outbound")
FUZZ_EXAMPLES = 6
FUZZ_SECONDS = 40.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# a principal per role, in the demo branch; unit and division scoped like the demo org's
PRINCIPALS: dict[str, dict[str, Any]] = {
    "agent": {"role": Role.AGENT},
    "unit_handler": {"role": Role.UNIT_HANDLER, "unit": "U-QINGXIU"},
    "division_supervisor": {"role": Role.DIVISION_SUPERVISOR, "division": "D-EAST"},
    "center_supervisor": {"role": Role.CENTER_SUPERVISOR},
    "admin": {"role": Role.ADMIN},
    "auditor": {"role": Role.AUDITOR},
    "integration": {"role": Role.INTEGRATION},
    "nobody": {},
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzzed(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    async with launch_system(
        kafka_bootstrap, database_url, tmp_path_factory.mktemp("hotline-fuzz"), day_start=False
    ) as hotline:
        yield hotline


def fuzz_service(
    base_url: str, headers_of: Callable[[str], dict[str, str]], budget: float
) -> tuple[int, list[str], list[str]]:
    """Every operation of one service, FUZZ_EXAMPLES cases each as a drawn principal, until `budget` seconds are
    spent: (cases run, failures, operations left unfuzzed)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    left: list[str] = []
    ran = [0]
    deadline = time.monotonic() + budget
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an unparsable operation raises here
        if time.monotonic() >= deadline:
            left.append(operation.label)
            continue
        fuzz_operation(operation, base_url, headers_of, ran, failures)
    return ran[0], failures, left


def fuzz_operation(
    operation: Any, base_url: str, headers_of: Callable[[str], dict[str, str]], ran: list[int], failures: list[str]
) -> None:
    @given(case=operation.as_strategy(), who=st.sampled_from(sorted(PRINCIPALS)))
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def one(case: Any, who: str) -> None:
        ran[0] += 1
        try:
            case.call_and_validate(base_url=base_url, headers=headers_of(who), checks=CHECKS, timeout=20)
        # every failure is collected, the first would hide the others (schemathesis raises a BaseExceptionGroup)
        except (Exception, FailureGroup) as error:
            if len(failures) < 40:
                failures.append(f"{operation.label} as {who}: {str(error).strip()[:600]}")

    one()


@pytest.mark.e2e
async def test_no_server_error_and_no_schema_mismatch_on_any_api(fuzzed: System, tmp_path: Path) -> None:
    def headers_of(who: str) -> dict[str, str]:
        claims = dict(PRINCIPALS[who])
        if not claims:
            return {}
        role = claims.pop("role")
        return {"Authorization": f"Bearer {fuzzed.token(role, **claims)}"}

    report: list[str] = []
    total = 0
    for service in FUZZED:
        ran, failures, left = await asyncio.to_thread(fuzz_service, fuzzed.urls[service], headers_of, FUZZ_SECONDS)
        assert ran > 0, f"{service}: no case ran"
        total += ran
        report += [f"[{service}] {line}" for line in failures]
        if left:  # bounded in time: on a loaded machine the last operations may go unfuzzed, said, not hidden
            warnings.warn(f"{service}: {FUZZ_SECONDS:.0f} s spent; not fuzzed: {', '.join(left)}", stacklevel=1)
    (tmp_path / "fuzz-report.txt").write_text("\n".join(report))
    assert report == [], f"{len(report)} failures in {total} cases:\n" + "\n\n".join(report)
