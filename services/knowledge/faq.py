"""Import of an existing FAQ (a CSV file or a folder of Markdown files) and export of the published articles.

Import is all or nothing: every row is checked first and, if any is rejected, nothing is written
and the report lists each rejected row with its reasons.

CSV columns (UTF-8, header row): title, body, category, and optionally subtype, tags (separated by
`;` or `，`), owner_unit, owner_division, review_by (YYYY-MM-DD), group_wide (true/false).
A Markdown file is `# title` on its first line and the body after it, with the other fields in a
YAML front matter block (`---` lines) before the title.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge import store
from services.knowledge.handlers import Context, import_article
from services.knowledge.schemas import ArticleFields

REQUIRED = ("title", "body", "category")
OPTIONAL = ("subtype", "tags", "owner_unit", "owner_division", "review_by", "group_wide")
COLUMNS = (*REQUIRED, *OPTIONAL)


class BadFaq(ValueError):
    """The file as a whole cannot be read (not UTF-8, no header, an unknown column): one line for the CLI."""


@dataclass(frozen=True)
class FaqRow:
    where: str  # "line 7" or the Markdown file's name
    fields: ArticleFields
    owner_unit: str | None
    owner_division: str | None
    group_wide: bool


@dataclass(frozen=True)
class Rejected:
    where: str
    title: str
    reasons: tuple[str, ...]


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def _row(where: str, raw: dict[str, Any]) -> FaqRow | Rejected:
    title = str(raw.get("title") or "").strip()
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in re.split(r"[;；,，\s]+", tags) if t]
    group_wide = raw.get("group_wide")
    if isinstance(group_wide, str):
        lowered = group_wide.strip().lower()
        if lowered not in ("", "true", "false", "yes", "no", "1", "0"):
            return Rejected(where, title, (f"group_wide: {group_wide!r} is not true or false",))
        group_wide = lowered in ("true", "yes", "1")
    data = {
        "title": title,
        "body": str(raw.get("body") or ""),
        "category": str(raw.get("category") or "").strip(),
        "subtype": (str(raw["subtype"]).strip() or None) if raw.get("subtype") else None,
        "tags": tags,
        "review_by": (str(raw["review_by"]).strip() or None) if raw.get("review_by") else None,
    }
    try:
        fields = ArticleFields.model_validate(data)
    except ValidationError as error:
        reasons = tuple(
            f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}"
            for e in error.errors(include_url=False, include_input=False)
        )
        return Rejected(where, title, reasons)
    return FaqRow(
        where=where,
        fields=fields,
        owner_unit=(str(raw.get("owner_unit") or "").strip() or None),
        owner_division=(str(raw.get("owner_division") or "").strip() or None),
        group_wide=bool(group_wide),
    )


def read_csv(text: str) -> list[FaqRow | Rejected]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise BadFaq("the CSV file has no header row")
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS and c != "article_id"]  # an export's ids are ignored
    if missing or unknown:
        problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        )
        raise BadFaq(f"{'; '.join(problems)} (columns: {', '.join(COLUMNS)})")
    rows: list[FaqRow | Rejected] = []
    for number, raw in enumerate(reader, start=2):
        cleaned = {(k or "").strip(): v for k, v in raw.items()}
        if None in raw or "" in cleaned:
            rows.append(Rejected(f"line {number}", str(cleaned.get("title") or ""), ("more fields than columns",)))
            continue
        rows.append(_row(f"line {number}", cleaned))
    return rows


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def read_markdown_file(name: str, text: str) -> FaqRow | Rejected:
    meta: dict[str, Any] = {}
    match = _FRONT.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as error:
            return Rejected(name, "", (f"front matter: {str(error).splitlines()[0]}",))
        if not isinstance(loaded, dict):
            return Rejected(name, "", ("front matter: not a mapping of field: value",))
        meta = {str(k): v for k, v in loaded.items()}
        text = text[match.end() :]
    unknown = [k for k in meta if k not in OPTIONAL and k != "category"]
    if unknown:
        return Rejected(name, "", (f"front matter: unknown field(s) {', '.join(unknown)}",))
    lines = text.lstrip().splitlines()
    if not lines or not lines[0].startswith("# "):
        return Rejected(name, "", ("the first line must be '# ' and the title",))
    return _row(name, {**meta, "title": lines[0][2:], "body": "\n".join(lines[1:]).strip()})


def read_faq(path: Path) -> list[FaqRow | Rejected]:
    """The rows of a CSV file or of every `*.md` file in a folder (sorted by name)."""
    try:
        if path.is_dir():
            files = sorted(path.glob("*.md"))
            if not files:
                raise BadFaq(f"{path} holds no .md file")
            return [read_markdown_file(f.name, f.read_text(encoding="utf-8")) for f in files]
        return read_csv(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BadFaq("the FAQ must be UTF-8 text") from None


async def import_faq(
    session: AsyncSession, branch: str, rows: Sequence[FaqRow | Rejected], ctx: Context
) -> ImportReport:
    """Publish every row, or none when any is rejected (the caller's transaction rolls back)."""
    report = ImportReport(rejected=[r for r in rows if isinstance(r, Rejected)])
    if report.rejected:
        return report
    seen: dict[str, str] = {}
    for row in rows:
        assert isinstance(row, FaqRow)
        title = row.fields.title
        if title in seen:
            report.rejected.append(Rejected(row.where, title, (f"the same title as {seen[title]}",)))
            continue
        seen[title] = row.where
    if report.rejected:
        return report
    for row in rows:
        assert isinstance(row, FaqRow)
        article = await import_article(
            session,
            branch,
            row.fields,
            ctx,
            owner_unit=row.owner_unit,
            owner_division=row.owner_division,
            group_wide=row.group_wide,
        )
        report.imported.append(article.article_id)
    return report


async def export_csv(session: AsyncSession, branch: str) -> str:
    """The live version of every published article of the branch, in the import's CSV columns."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["article_id", *COLUMNS], lineterminator="\n")
    writer.writeheader()
    rows = await store.list_articles(session, branch=branch, live_only=True, limit=1_000_000)
    for article, version in sorted(rows, key=lambda pair: pair[0].created_at):
        writer.writerow(
            {
                "article_id": article.article_id,
                "title": version.title,
                "body": version.body,
                "category": version.category,
                "subtype": version.subtype or "",
                "tags": ";".join(version.tags),
                "owner_unit": article.owner_unit or "",
                "owner_division": article.owner_division or "",
                "review_by": version.review_by.isoformat() if version.review_by else "",
                "group_wide": "true" if article.group_wide else "false",
            }
        )
    return out.getvalue()
