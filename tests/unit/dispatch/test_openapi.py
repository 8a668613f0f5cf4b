"""Issue 14 #13: dispatch's document lists its error answers, the download is binary, `active: 0` is refused."""

from __future__ import annotations

from tests.unit.dispatch.world import ADMIN, World
from tests.unit.http.openapi_checks import undocumented_answers


async def test_the_document_tells_the_truth_about_errors_and_the_attachment_download(world: World) -> None:
    document = (await world.client.get("/openapi.json")).json()
    assert undocumented_answers(document) == []
    download = document["paths"]["/api/v1/tickets/{ticket_id}/attachments/{attachment_id}"]["get"]
    content = download["responses"]["200"]["content"]
    assert "application/json" not in content
    assert content["image/png"]["schema"] == {"type": "string", "format": "binary"}


async def test_a_number_for_a_boolean_is_refused_as_the_schema_says(world: World) -> None:
    body = {"name": "北区一所", "division_id": "DIV-NORTH", "active": 0}
    response = await world.client.put("/api/v1/admin/org/units/UNIT-N9", headers=ADMIN, json=body)
    assert response.status_code == 422
    assert {f["field"] for f in response.json()["error"]["fields"]} == {"body.active"}
