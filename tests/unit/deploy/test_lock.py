"""The lock files pin what pyproject.toml asks for, and the production one holds only runtime packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares them: case, '-', '_' and '.' do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    return _normal(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {_normal(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_runtime_dependency_is_pinned_with_hashes_in_both_locks() -> None:
    prod, dev = _pins("prod.txt"), _pins("dev.txt")
    for requirement in PROJECT["dependencies"]:
        assert _name(requirement) in prod, requirement
        assert prod[_name(requirement)] == dev[_name(requirement)], requirement
    assert "--hash=sha256:" in (ROOT / "requirements" / "prod.txt").read_text()


def test_the_dev_lock_pins_the_dev_and_report_extras() -> None:
    dev = _pins("dev.txt")
    for requirement in [*PROJECT["optional-dependencies"]["dev"], *PROJECT["optional-dependencies"]["report"]]:
        assert _name(requirement) in dev, requirement


def test_the_production_lock_has_no_test_tool() -> None:
    prod = _pins("prod.txt")
    # matplotlib is a production dependency since the reporting service draws its bulletins' charts
    for name in ("pyyaml", "pytest", "mypy", "ruff", "hypothesis", "holidays", "pypdf"):
        assert name not in prod, name


def test_the_image_and_the_setup_install_from_the_locks() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/prod.txt" in dockerfile
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "--require-hashes -r requirements/dev.txt" in setup
