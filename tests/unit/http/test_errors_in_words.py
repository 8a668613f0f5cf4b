"""Bad request bodies are named in words: malformed JSON is not a field called `body.28`."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel

from shared.auth import Role, SecureRouter, require_roles
from shared.http.app import create_app
from shared.http.settings import HttpSettings
from tests.unit.auth.demo import auth_settings, bearer, token


class Note(BaseModel):
    text: str


router = SecureRouter()


@router.post("/api/v1/notes", dependencies=[require_roles(Role.AGENT)])
async def add_note(note: Note) -> dict[str, str]:
    return {"text": note.text}


async def _post(body: str) -> httpx.Response:
    app = create_app("demo", HttpSettings(), router, auth=auth_settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        headers = {"Content-Type": "application/json", **bearer(token(Role.AGENT))}
        return await client.post("/api/v1/notes", content=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "where"),
    [('{"text": "a",,}', "at character 14"), ('{"text": "unterminated', "at character 10"), ("{", "at character 2")],
)
async def test_malformed_json_is_a_400_that_says_so_and_where(body: str, where: str) -> None:
    response = await _post(body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed_json"
    assert error["message"].startswith(f"the request body is not valid JSON {where}")
    assert error["fields"] == [{"field": "body", "message": error["message"]}]


async def test_a_well_formed_body_with_a_wrong_field_is_still_a_field_level_422() -> None:
    response = await _post('{"text": 5}')
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["body.text"]
