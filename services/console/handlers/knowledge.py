"""The knowledge base in the console: search beside the call, writing, review, publishing, feedback and needs.

Every call goes to the knowledge service with the signed-in user's token; the service decides who may do what
(its `allowed_actions` and its 403/404/409), the console only shows what that answer allows.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, UploadFile

from services.console.clients import ApiFailure, Apis

# the article statuses and workflow actions as the pages say them (msgids of the catalogs)
STATUS_LABELS = {
    "draft": "Draft",
    "submitted": "Waiting for the division's review",
    "approved": "Waiting for the center to publish",
    "published": "Published",
    "superseded": "Superseded",
    "retired": "Retired",
}
ACTION_LABELS = {
    "edit": "Edit the draft",
    "submit": "Submit for review",
    "approve": "Approve",
    "send_back": "Send back with notes",
    "publish": "Publish",
    "new_version": "Start a new version",
    "retire": "Retire",
}
# the fields a diff names as changed
FIELD_LABELS = {
    "title": "Title",
    "body": "Text",
    "category": "Category",
    "subtype": "Sub-type",
    "tags": "Tags",
    "review_by": "Review by",
}
# the API's path of each step (POST /api/v1/articles/{id}/<path>)
STEP_PATHS = {
    "submit": "submit",
    "approve": "approve",
    "send_back": "send-back",
    "publish": "publish",
    "new_version": "new-version",
}
# the inputs of the article form, as the knowledge API's 422 names them (`body.<name>...`)
ARTICLE_INPUTS = ("title", "body", "category", "subtype", "tags", "attachments", "review_by", "owner_unit")


@dataclass
class ArticleForm:
    """The article form as the writer filled it (text as typed; the knowledge API validates it)."""

    title: str = ""
    body: str = ""
    category: str = ""
    subtype: str = ""
    tags: str = ""
    attachments: str = ""  # one `name | https://…` a line
    review_by: str = ""
    owner_unit: str = ""
    group_wide: bool = False

    @classmethod
    def from_form(cls, form: FormData) -> ArticleForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        body = form.get("body")
        return cls(
            title=text("title"),
            body=body if isinstance(body, str) else "",
            category=text("category"),
            subtype=text("subtype"),
            tags=text("tags"),
            attachments=text("attachments"),
            review_by=text("review_by"),
            owner_unit=text("owner_unit"),
            group_wide=text("group_wide") in ("on", "true", "1"),
        )

    @classmethod
    def of_version(cls, version: dict[str, Any]) -> ArticleForm:
        """The form filled with a version as the service has it (to edit a draft)."""
        return cls(
            title=version["title"],
            body=version["body"],
            category=version["category"],
            subtype=version.get("subtype") or "",
            tags=", ".join(version.get("tags") or []),
            attachments="\n".join(f"{a['name']} | {a['url']}" for a in version.get("attachments") or []),
            review_by=str(version.get("review_by") or ""),
        )

    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.replace("，", ",").split(",") if t.strip()]

    def attachment_list(self) -> list[dict[str, str]]:
        links = []
        for line in self.attachments.splitlines():
            if not line.strip():
                continue
            name, sep, url = line.rpartition("|")
            links.append({"name": name.strip(), "url": url.strip()} if sep else {"name": line.strip(), "url": ""})
        return links

    def fields_body(self) -> dict[str, Any]:
        """The article's fields as PUT /draft (and POST /articles) take them."""
        return {
            "title": self.title,
            "body": self.body,
            "category": self.category or None,
            "subtype": self.subtype or None,
            "tags": self.tag_list(),
            "attachments": self.attachment_list(),
            "review_by": self.review_by or None,
        }

    def create_body(self) -> dict[str, Any]:
        body = self.fields_body()
        body["group_wide"] = self.group_wide
        if self.owner_unit:
            body["owner_unit"] = self.owner_unit
        return body


def input_of(api_path: str, message: str) -> str:
    """The form input beside which a 422 message goes: `body.tags.1` -> `tags`; a whole-body rule -> its input."""
    parts = api_path.split(".")
    if parts and parts[0] == "body":
        parts = parts[1:]
    if parts and parts[0] in ARTICLE_INPUTS:
        return parts[0]
    if parts and parts[0] in ("content_base64", "filename", "media_type"):
        return "file"
    if parts and parts[0] in ("notes", "reason", "text", "note", "ticket_id"):
        return parts[0]
    # the model's own check (a sub-type of another category) names no field
    return "subtype" if "sub-type" in message else "form"


def field_errors(failure: ApiFailure) -> dict[str, str]:
    errors: dict[str, str] = {}
    for path, message in failure.fields.items():
        errors.setdefault(input_of(path, message), message)
    return errors or {"form": failure.message}


@dataclass(frozen=True)
class StepRefused:
    """Why a step was not taken: an illegal transition (409), a field error (422), or another refusal."""

    status: int
    message: str
    errors: dict[str, str] = field(default_factory=dict)
    current_status: str = ""
    allowed: tuple[str, ...] = ()

    @property
    def illegal(self) -> bool:
        return self.status == 409


def refused(failure: ApiFailure) -> StepRefused:
    if failure.status == 409:
        allowed = failure.fields.get("allowed_actions", "")
        return StepRefused(
            409,
            failure.message,
            current_status=failure.fields.get("status", ""),
            allowed=tuple(a.strip() for a in allowed.split(",") if a.strip() and a.strip() != "none"),
        )
    if failure.status == 422:
        return StepRefused(422, failure.message, field_errors(failure))
    return StepRefused(failure.status, failure.message, {"form": failure.message})


# --------------------------------------------------------------------------- agents: search beside the call


@dataclass(frozen=True)
class SearchAnswer:
    query: str
    hits: list[dict[str, Any]]
    need_recorded: bool
    error: str = ""


async def search(apis: Apis, token: str, query: str, category: str = "") -> SearchAnswer:
    """Published articles for the caller's question; the service counts a search that found nothing as a need."""
    query = query.strip()
    if not query:
        return SearchAnswer(query, [], False)
    try:
        answer = await apis.call(
            "knowledge", "GET", "/api/v1/search", token, params={"q": query[:200], "category": category or None}
        )
    except ApiFailure as failure:
        if failure.status == 422 and category:
            # a category the index does not know (e.g. still "choose…"): search everything instead
            return await search(apis, token, query)
        return SearchAnswer(query, [], False, failure.message)
    return SearchAnswer(query, list(answer["hits"]), bool(answer["need_recorded"]))


async def article(apis: Apis, token: str, article_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await apis.call("knowledge", "GET", f"/api/v1/articles/{article_id}", token)
    return result


async def title_of(apis: Apis, token: str, article_id: str) -> str:
    """The title of an article attached to a work order from the call pop ('' when none or not found)."""
    if not article_id:
        return ""
    try:
        return str((await article(apis, token, article_id))["current"]["title"])
    except ApiFailure:
        return ""


async def give_feedback(apis: Apis, token: str, article_id: str, ticket_id: str, helpful: bool) -> dict[str, Any]:
    body = {"ticket_id": ticket_id, "helpful": helpful}
    result: dict[str, Any] = await apis.call(
        "knowledge", "POST", f"/api/v1/articles/{article_id}/feedback", token, json=body
    )
    return result


# --------------------------------------------------------------------------- writers and reviewers


async def listing(apis: Apis, token: str, path: str, **params: Any) -> list[dict[str, Any]]:
    """A list of article summaries (`/articles`, `/articles/stale`, `/review-queue`); empty when refused."""
    try:
        rows: list[dict[str, Any]] = await apis.call("knowledge", "GET", f"/api/v1/{path}", token, params=params)
    except ApiFailure as failure:
        if failure.status in (401, 403):
            return []
        raise
    return rows


async def create(apis: Apis, token: str, form: ArticleForm) -> tuple[dict[str, Any] | None, dict[str, str]]:
    try:
        made = await apis.call("knowledge", "POST", "/api/v1/articles", token, json=form.create_body())
    except ApiFailure as failure:
        return None, refused(failure).errors or {"form": failure.message}
    return made, {}


async def save_draft(
    apis: Apis, token: str, article_id: str, form: ArticleForm
) -> tuple[dict[str, Any] | None, StepRefused | None]:
    try:
        saved = await apis.call(
            "knowledge", "PUT", f"/api/v1/articles/{article_id}/draft", token, json=form.fields_body()
        )
    except ApiFailure as failure:
        return None, refused(failure)
    return saved, None


async def take_step(
    apis: Apis, token: str, article_id: str, action: str, notes: str
) -> tuple[dict[str, Any] | None, StepRefused | None]:
    """Submit, approve, send back, publish, start a new version or retire; the service's refusal, explained."""
    if action == "retire":
        path, body = "retire", {"reason": notes}
    elif action in STEP_PATHS:
        path, body = STEP_PATHS[action], {"notes": notes}
    else:
        return None, StepRefused(400, f"unknown step {action}", {"form": f"unknown step {action}"})
    try:
        done = await apis.call("knowledge", "POST", f"/api/v1/articles/{article_id}/{path}", token, json=body)
    except ApiFailure as failure:
        return None, refused(failure)  # a 503 too: said on the page, nothing assumed done
    return done, None


async def add_file(
    apis: Apis, token: str, article_id: str, upload: UploadFile, max_bytes: int = 700_000
) -> StepRefused | None:
    """A PDF or image attached to the draft (the service checks that the content is what its type says)."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        return StepRefused(422, "file too large", {"file": f"at most {max_bytes // 1000} kB a file"})
    body = {
        "filename": upload.filename or "file",
        "media_type": upload.content_type or "application/octet-stream",
        "content_base64": base64.b64encode(data).decode(),
    }
    try:
        await apis.call("knowledge", "POST", f"/api/v1/articles/{article_id}/files", token, json=body)
    except ApiFailure as failure:
        return refused(failure)
    return None


@dataclass(frozen=True)
class History:
    versions: list[dict[str, Any]]
    diff: dict[str, Any] | None
    lines: list[tuple[str, str]]  # (kind, text): kind is add, del, hunk, head or same


def diff_lines(unified: str) -> list[tuple[str, str]]:
    """The unified diff's lines with what each is, so the page marks additions and removals (not by colour only)."""
    lines: list[tuple[str, str]] = []
    for line in unified.splitlines():
        if line.startswith(("+++", "---")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append((kind, line))
    return lines


async def history(apis: Apis, token: str, article_id: str, old: int | None, new: int | None) -> History:
    """The versions of an article and a readable diff between two of them (by default the last two)."""
    versions: list[dict[str, Any]] = await apis.call(
        "knowledge", "GET", f"/api/v1/articles/{article_id}/versions", token
    )
    numbers = sorted(v["version"] for v in versions)
    if len(numbers) < 2 and (old is None or new is None):
        return History(versions, None, [])
    to_version = new if new is not None else numbers[-1]
    from_version = old if old is not None else next((n for n in reversed(numbers) if n < to_version), numbers[0])
    diff: dict[str, Any] = await apis.call(
        "knowledge",
        "GET",
        f"/api/v1/articles/{article_id}/diff",
        token,
        params={"from": from_version, "to": to_version},
    )
    return History(versions, diff, diff_lines(diff["unified"]))


async def submit_need(apis: Apis, token: str, text: str, note: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
    try:
        need = await apis.call("knowledge", "POST", "/api/v1/needs", token, json={"text": text, "note": note})
    except ApiFailure as failure:
        return None, field_errors(failure)
    return need, {}


async def improvement(apis: Apis, token: str) -> dict[str, Any] | None:
    """The most-needed missing answers and the least helpful articles (supervisors; None for anyone else)."""
    try:
        result: dict[str, Any] = await apis.call("knowledge", "GET", "/api/v1/improvement", token)
    except ApiFailure as failure:
        if failure.status in (401, 403):
            return None
        raise
    return result
