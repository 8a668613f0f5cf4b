"""A branch's notice templates, read once and checked (an unknown placeholder stops the service at start)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.branch_config import DEFAULT_BRANCH, config_dirs
from shared.policy.notices import NoticeTemplates, TemplateError, templates_from_mapping


@dataclass(frozen=True)
class BranchNotices:
    templates: NoticeTemplates
    hotline: str
    source: Path


def templates_file(branch: str, packaged: Path, env: Mapping[str, str] | None = None) -> Path:
    candidates = [folder / "notices" / f"{branch}.toml" for folder in config_dirs(env)[:1]]
    candidates += [packaged / f"{branch}.toml", packaged / f"{DEFAULT_BRANCH}.toml"]
    for path in candidates:
        if path.is_file():
            return path
    raise TemplateError(f"no notice templates for branch {branch!r} (looked in {', '.join(map(str, candidates))})")


def load_notices(path: Path) -> BranchNotices:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(f"{path}: {error}") from None
    hotline = data.pop("hotline", "")
    if not isinstance(hotline, str) or not hotline:
        raise TemplateError(f'{path}: hotline = "<the branch\'s hotline number>" is required')
    return BranchNotices(templates_from_mapping(str(path), data), hotline, path)


class NoticeCatalog:
    """Each branch's templates, loaded on first use and kept."""

    def __init__(self, packaged: Path, env: Mapping[str, str] | None = None) -> None:
        self._packaged = packaged
        self._env = env
        self._by_branch: dict[str, BranchNotices] = {}

    def for_branch(self, branch: str) -> BranchNotices:
        notices = self._by_branch.get(branch)
        if notices is None:
            notices = self._by_branch[branch] = load_notices(templates_file(branch, self._packaged, self._env))
        return notices
