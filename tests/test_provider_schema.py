"""kaizen_core.providers.schema: $ref inlining and subschema mapping shared by the providers."""

from __future__ import annotations

import copy

import pytest
from pydantic import BaseModel, Field

from kaizen_core.errors import ConfigError
from kaizen_core.providers.schema import inline_refs, map_subschemas, resolve_ref


class Address(BaseModel):
    city: str


class Person(BaseModel):
    home: Address = Field(description="Where they live")
    past: list[Address]
    work: Address | None = None


class Node(BaseModel):
    children: list[Node] = []


SCHEMA = Person.model_json_schema()


def test_inline_all_replaces_every_ref_keeps_sibling_keywords_and_drops_defs() -> None:
    before = copy.deepcopy(SCHEMA)
    out = inline_refs(SCHEMA)
    address = {"properties": {"city": {"title": "City", "type": "string"}}, "required": ["city"], "title": "Address", "type": "object"}
    assert out["properties"]["home"] == {**address, "description": "Where they live"}
    assert out["properties"]["past"]["items"] == address
    assert out["properties"]["work"]["anyOf"] == [address, {"type": "null"}]
    assert "$defs" not in out and "$ref" not in str(out)
    assert SCHEMA == before  # the input is not modified


def test_inline_only_refs_with_siblings_keeps_bare_refs_and_defs() -> None:
    out = inline_refs(SCHEMA, only_with_siblings=True)
    assert "$ref" not in out["properties"]["home"] and out["properties"]["home"]["description"] == "Where they live"
    assert out["properties"]["past"]["items"] == {"$ref": "#/$defs/Address"}
    assert out["$defs"] == SCHEMA["$defs"]


def test_recursive_refs_cannot_be_inlined_but_bare_ones_stay() -> None:
    schema = Node.model_json_schema()
    with pytest.raises(ConfigError, match="recursive") as info:
        inline_refs(schema)
    assert info.value.code == "KAIZEN_002"
    # pydantic puts a recursive root behind {"$ref", "$defs"}: that ref has a sibling, so the root is inlined once
    out = inline_refs(schema, only_with_siblings=True)
    assert out["type"] == "object" and out["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert out["$defs"] == schema["$defs"]


def test_resolve_ref_is_local_only_and_data_keywords_are_not_schemas() -> None:
    assert resolve_ref(SCHEMA, "#/$defs/Address")["title"] == "Address"
    with pytest.raises(ConfigError, match="not local"):
        resolve_ref(SCHEMA, "https://example.org/s.json")
    with pytest.raises(ConfigError, match="does not resolve"):
        resolve_ref(SCHEMA, "#/$defs/Missing")
    node = {"type": "object", "properties": {"a": {"type": "string"}}, "default": {"$ref": "data"}, "enum": [{"x": 1}]}
    seen: list[dict] = []
    map_subschemas(node, lambda s: seen.append(s) or s)
    assert seen == [{"type": "string"}]  # `default` and `enum` hold data, not subschemas
