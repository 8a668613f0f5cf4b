"""Every service has the same shape, no service imports another, and `shared/` imports neither a service nor the CLI.

Read from the source (ast), not by importing: a newcomer who knows one service finds the same files in each.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import errors as shared_errors

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ROOT / "services"
SHARED = ROOT / "shared"
# DESIGN's shape: a module or a package of the same name
SHAPE = ("settings", "schemas", "api", "handlers", "store", "worker", "bootstrap", "main")


def _services() -> list[Path]:
    return sorted(p for p in SERVICES.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def _modules(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def _imported(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _has(service: Path, name: str) -> bool:
    return (service / f"{name}.py").is_file() or (service / name / "__init__.py").is_file()


def test_there_are_services_to_check() -> None:
    assert {p.name for p in _services()} >= {"intake", "dispatch", "sla_monitor", "callback", "identity"}


@pytest.mark.parametrize("service", _services(), ids=lambda p: p.name)
def test_every_service_has_the_same_files(service: Path) -> None:
    missing = [name for name in SHAPE if not _has(service, name)]
    assert not missing, f"services/{service.name} lacks {missing}"


@pytest.mark.parametrize("service", _services(), ids=lambda p: p.name)
def test_a_service_with_a_faust_app_keeps_it_in_app_py(service: Path) -> None:
    builders = [
        path.relative_to(ROOT).as_posix()
        for path in _modules(service)
        if path.name != "app.py" and "StreamApp(" in path.read_text(encoding="utf-8")
    ]
    assert not builders, f"a Faust app built outside app.py: {builders}"


@pytest.mark.parametrize("service", _services(), ids=lambda p: p.name)
def test_no_service_imports_another(service: Path) -> None:
    others = {p.name for p in _services()} - {service.name}
    found = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules(service)
        for module in _imported(path)
        if module.split(".")[0] == "services" and len(module.split(".")) > 1 and module.split(".")[1] in others
    ]
    assert not found, found


def test_shared_imports_neither_services_nor_the_cli() -> None:
    found = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules(SHARED)
        for module in _imported(path)
        if module.split(".")[0] in {"services", "hotline"}
    ]
    assert not found, found


def test_the_checks_see_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from services.dispatch.store import Ticket\nimport hotline.cli\n", encoding="utf-8")
    assert list(_imported(sample)) == ["services.dispatch.store", "hotline.cli"]


# ---------------------------------------------------------------- the kit, used and not copied (issue 22)

# "no product file over ~500 lines": past that the file is split by concern
MAX_LINES = 500
# every service's handlers raise shared.errors kinds (identity's 423/429 carry their retry_after)
HANDLERS_ON_APIERROR: set[str] = set()
KIT_TABLES = ("outbox", "processed_events", "audit_log")


def _handler_modules(service: Path) -> list[Path]:
    package = service / "handlers"
    return sorted(package.rglob("*.py")) if package.is_dir() else [service / "handlers.py"]


def _api_modules(service: Path) -> list[Path]:
    package = service / "api"
    return sorted(package.rglob("*.py")) if package.is_dir() else sorted(service.glob("*api.py"))


# the kinds of shared.errors and the service refusals that extend them
DOMAIN_KINDS = {
    *(
        name
        for name, value in vars(shared_errors).items()
        if isinstance(value, type) and issubclass(value, shared_errors.DomainError)
    ),
    "InvalidCommand",
    "NotAllowed",
    "OutcomeError",
    "BadInput",
    "IllegalTransition",
}


def _names(node: ast.expr | None) -> set[str]:
    if isinstance(node, ast.Tuple):
        return {name for element in node.elts for name in _names(element)}
    if isinstance(node, ast.Name):
        return {node.id}
    return {node.attr} if isinstance(node, ast.Attribute) else set()


def _answers_itself(handler: ast.ExceptHandler) -> bool:
    # a bare `raise` (intake's alarm renames the fields, then lets the error through) is not an answer of its own
    return any(isinstance(n, ast.Raise) and n.exc is not None for n in ast.walk(handler)) or not any(
        isinstance(n, ast.Raise) for n in ast.walk(handler)
    )


def _raised_names(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            yield func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _http_in_handlers(service: Path) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}: {what}"
        for path in _handler_modules(service)
        for what in [*_imported(path), *_raised_names(path)]
        if what in {"shared.http.errors", "fastapi", "ApiError", "HTTPException"}
    ]


@pytest.mark.parametrize(
    "service", [s for s in _services() if s.name not in HANDLERS_ON_APIERROR], ids=lambda p: p.name
)
def test_handlers_raise_domain_errors_not_http_ones(service: Path) -> None:
    found = _http_in_handlers(service)
    assert not found, f"handlers speak HTTP (raise a shared.errors kind instead): {found}"


# a refusal a handler raises extends a shared.errors kind, so the one mapping gives its status (no try/except per route)
BUILTIN_EXCEPTIONS = {
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
}
# errors that never reach an API as they are: a worker's (redelivered), a console page's
NOT_REFUSALS = {"MissingTicketFacts", "Refusal"}


def _own_builtin_exceptions(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ClassDef):
            bases = {base.id for base in node.bases if isinstance(base, ast.Name)}
            if bases & BUILTIN_EXCEPTIONS and node.name not in NOT_REFUSALS:
                yield f"{node.name}({', '.join(sorted(bases))})"


@pytest.mark.parametrize("service", _services(), ids=lambda p: p.name)
def test_handlers_refusals_are_shared_kinds(service: Path) -> None:
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in _handler_modules(service)
        for what in _own_builtin_exceptions(path)
    ]
    assert not found, f"a handler's error on a builtin exception (extend shared.errors' NotFound, Invalid ...): {found}"


@pytest.mark.parametrize("service", _services(), ids=lambda p: p.name)
def test_routes_do_not_translate_domain_errors(service: Path) -> None:
    """A route lets a handler's refusal through: shared.http.errors maps it (no `except NotFound: raise ApiError`)."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _api_modules(service)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if isinstance(node, ast.ExceptHandler) and _names(node.type) & DOMAIN_KINDS and _answers_itself(node)
    ]
    assert not found, f"a route catches a domain error to answer it itself: {found}"


# routes take the request's session from shared.http.deps (`db: Session`), not from app.state themselves;
# outbound's still open their own: its self-service routes call intake between two short transactions and hold
# no session across that call
ROUTES_OPENING_SESSIONS = {"outbound"}


@pytest.mark.parametrize(
    "service", [s for s in _services() if s.name not in ROUTES_OPENING_SESSIONS], ids=lambda p: p.name
)
def test_routes_use_the_shared_session_dependency(service: Path) -> None:
    own = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _api_modules(service)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"state\.sessions\b|\bsessions\(request\)", line)
    ]
    assert not own, f"a route opens its own session (take `Session` from shared.http.deps): {own}"


# a bootstrap's service object extends shared.service.ServiceCore (database, clock, readiness, close built once);
# these still wire their own: intake's and outbound's (edited by others this session) and console's (a browser
# backend, its own session store); the SLA monitor keeps no database (its state is in Faust tables)
OWN_SERVICE_CORE = {"console", "intake", "outbound", "sla_monitor"}


@pytest.mark.parametrize("service", [s for s in _services() if s.name not in OWN_SERVICE_CORE], ids=lambda p: p.name)
def test_bootstraps_build_on_the_service_core(service: Path) -> None:
    tree = ast.parse((service / "bootstrap.py").read_text(encoding="utf-8"))
    cores = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and "ServiceCore" in {_names(base).pop() for base in node.bases if _names(base)}
    ]
    assert cores, f"services/{service.name}/bootstrap.py has no ServiceCore subclass (shared/service.py)"


def test_no_product_file_is_over_the_line_limit() -> None:
    long = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for folder in (SERVICES, SHARED, ROOT / "hotline")
        for path in _modules(folder)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, long


@pytest.mark.parametrize("service", _services(), ids=lambda p: p.name)
def test_the_reveal_endpoint_is_the_shared_one(service: Path) -> None:
    own = [
        path.relative_to(ROOT).as_posix()
        for path in _modules(service)
        if "reveal_field(" in path.read_text(encoding="utf-8")
    ]
    assert not own, f"a reveal route of its own (mount shared.auth.reveal.add_reveal_route): {own}"


@pytest.mark.parametrize("service", _services(), ids=lambda p: p.name)
def test_migrations_create_the_kit_tables_with_the_kit_helper(service: Path) -> None:
    copies = [
        f"{path.relative_to(ROOT)} creates {table}"
        for path in sorted((service / "migrations").rglob("*.py"))
        for table in KIT_TABLES
        if re.search(rf'create_table\(\s*"{table}"', path.read_text(encoding="utf-8"))
    ]
    assert not copies, f"use shared.migration's create_*_table(): {copies}"


def test_the_kit_checks_see_what_they_forbid(tmp_path: Path) -> None:
    handler = tmp_path / "handlers.py"
    handler.write_text("from shared.http.errors import ApiError\nraise ApiError(404, 'x')\n", encoding="utf-8")
    assert list(_raised_names(handler)) == ["ApiError"]
    assert "shared.http.errors" in list(_imported(handler))
    refusal = tmp_path / "errors.py"
    refusal.write_text(
        "class NotFound(LookupError):\n    pass\nclass Gone(errors.NotFound):\n    pass\n", encoding="utf-8"
    )
    assert list(_own_builtin_exceptions(refusal)) == ["NotFound(LookupError)"]
