"""Every service has the same shape, no service imports another, and `shared/` imports neither a service nor the CLI.

Read from the source (ast), not by importing: a newcomer who knows one service finds the same files in each.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

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
