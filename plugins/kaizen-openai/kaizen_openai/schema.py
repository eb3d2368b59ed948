"""Make a JSON schema acceptable to OpenAI's ``json_schema`` strict mode, and undo its side effects.

Strict mode requires, for every object: ``additionalProperties: false`` and every
property listed in ``required``. Optional properties therefore become required but
nullable; :func:`drop_null_optionals` removes the ``null`` values the model then
produces for them, so the agent's validation sees the field as absent (its default
applies). ``default`` is not allowed in strict mode and is removed.
"""

from __future__ import annotations

import copy
from typing import Any

_UNSUPPORTED = ("default",)
_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("$defs", "definitions")


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` made strict-mode compatible (the input is not modified)."""
    return _strict(copy.deepcopy(schema))


def _nullable(prop: dict[str, Any]) -> dict[str, Any]:
    kind = prop.get("type")
    if isinstance(kind, str):
        if kind != "null":
            prop["type"] = [kind, "null"]
            if "enum" in prop and None not in prop["enum"]:
                prop["enum"] = [*prop["enum"], None]
        return prop
    if isinstance(kind, list):
        if "null" not in kind:
            prop["type"] = [*kind, "null"]
        return prop
    if "anyOf" in prop:
        if not any(isinstance(s, dict) and s.get("type") == "null" for s in prop["anyOf"]):
            prop["anyOf"] = [*prop["anyOf"], {"type": "null"}]
        return prop
    return {"anyOf": [prop, {"type": "null"}]}


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    for key in _UNSUPPORTED:
        node.pop(key, None)
    for key in _SUBSCHEMA_LISTS:
        if isinstance(node.get(key), list):
            node[key] = [_strict(s) for s in node[key]]
    for key in _SUBSCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            node[key] = {name: _strict(s) for name, s in node[key].items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _strict(node["items"])
    props = node.get("properties")
    if node.get("type") == "object" or isinstance(props, dict):
        props = props if isinstance(props, dict) else {}
        required = set(node.get("required") or [])
        new_props: dict[str, Any] = {}
        for name, prop in props.items():
            sub = _strict(prop)
            new_props[name] = sub if name in required or not isinstance(sub, dict) else _nullable(sub)
        node["properties"] = new_props
        node["required"] = list(new_props)
        node["additionalProperties"] = False
    return node


def drop_null_optionals(value: Any, schema: dict[str, Any]) -> Any:
    """Remove ``None`` values of properties that ``schema`` (the original) does not require."""
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return value
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None and key in props and key not in required:
            continue
        sub = props.get(key)
        out[key] = drop_null_optionals(item, sub) if isinstance(sub, dict) else item
    return out
