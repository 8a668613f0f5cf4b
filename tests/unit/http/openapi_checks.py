"""What every service's OpenAPI document must say of its error answers (issue 14 #13)."""

from __future__ import annotations

from typing import Any

WRITES = {"post", "put", "patch", "delete"}


def undocumented_answers(document: dict[str, Any]) -> list[str]:
    """Operations missing an error answer their route gives, as `METHOD path: codes`."""
    missing = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            wanted = {"422"}
            if operation.get("security"):
                wanted |= {"401", "403", "404", "429"}
            if method in WRITES:
                wanted |= {"409", "413", "415"}
            absent = wanted - set(operation["responses"])
            schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
            if schema != {"$ref": "#/components/schemas/ErrorBody"}:
                absent.add("422 (body)")
            if absent:
                missing.append(f"{method.upper()} {path}: {sorted(absent)}")
    return missing
