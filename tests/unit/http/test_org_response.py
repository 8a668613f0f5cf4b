"""The org tree's response class: organisation names in full, everything else masked as by default."""

from __future__ import annotations

import json

from shared.http.responses import MaskedJSONResponse, OrgJSONResponse

TREE = {
    "center_name": "南宁客服中心",
    "divisions": [{"name": "东部事业部", "units": [{"name": "青秀区燃气运维站", "phone": "13800138000"}]}],
    "name": "联系 13800138000",
}


def test_org_names_are_kept_and_personal_data_is_still_masked() -> None:
    body = json.loads(OrgJSONResponse(TREE).body)
    unit = body["divisions"][0]["units"][0]
    assert body["divisions"][0]["name"] == "东部事业部" and unit["name"] == "青秀区燃气运维站"
    assert unit["phone"] == "138****8000"  # a personal key stays masked
    assert body["name"] == "联系 138****8000"  # and a phone number inside a name is masked by pattern


def test_the_default_response_masks_the_same_names() -> None:
    body = json.loads(MaskedJSONResponse(TREE).body)
    assert body["divisions"][0]["units"][0]["name"] != "青秀区燃气运维站"
