"""Renders the kustomize overlays of deploy/k8s with the real kustomize binary (installed by `make setup`)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
OVERLAYS = ("one-branch", "branches-on-one-cluster", "group")


def kustomize_binary() -> str:
    """$HOTLINE_KUSTOMIZE, else `kustomize` on PATH, else the one scripts/setup.sh built into the cache."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hotline" / "bin" / "kustomize"
    for candidate in (os.environ.get("HOTLINE_KUSTOMIZE"), shutil.which("kustomize"), str(cache)):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("kustomize is not installed: run `make setup` (scripts/setup.sh builds it with Go)", pytrace=False)


@functools.cache
def _render(overlay: str) -> str:
    result = subprocess.run(
        [kustomize_binary(), "build", str(K8S / "overlays" / overlay)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"kustomize build {overlay}: {result.stderr.strip()}", pytrace=False)
    return result.stdout


def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay's documents, a fresh copy on every call (tests may change them)."""
    return [doc for doc in yaml.safe_load_all(_render(overlay)) if doc]
