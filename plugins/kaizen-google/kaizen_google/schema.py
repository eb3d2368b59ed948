"""Translate JSON Schema to Gemini's ``responseSchema`` (an OpenAPI 3.0 subset).

Kept: ``type`` (upper-cased), ``description``, ``enum`` (strings), ``format`` where
Gemini accepts it, ``properties``, ``required``, ``items``, ``minItems``/``maxItems``,
``minimum``/``maximum``, ``nullable``, ``anyOf``; ``propertyOrdering`` is added so
fields come out in declaration order.

Translated: local ``$ref`` to ``$defs``/``definitions`` is inlined (recursive refs
cannot be expressed: AGENT_002-style ConfigError); ``type: [X, "null"]`` and
``anyOf: [X, {"type": "null"}]`` become ``X`` + ``nullable: true``; ``const`` becomes a
one-value ``enum``; ``allOf`` with one member is unwrapped.

Dropped (Gemini cannot express them; the agent's validation still enforces them):
``additionalProperties``, ``default``, ``title``, ``pattern``, ``minLength``,
``maxLength``, ``examples``, ``$schema``, ``oneOf`` (becomes ``anyOf``), ``not``,
``exclusiveMinimum``/``exclusiveMaximum``, other formats.
"""

from __future__ import annotations

from typing import Any

from kaizen_core.errors import ConfigError

_FORMATS = {"STRING": {"enum", "date-time"}, "NUMBER": {"float", "double"}, "INTEGER": {"int32", "int64"}}
_COPY = ("description", "minItems", "maxItems", "minimum", "maximum", "nullable")


def to_gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A Gemini ``Schema`` object equivalent to ``schema`` (see the module doc for losses)."""
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    return _convert(schema, defs, ())


def _resolve(ref: str, defs: dict[str, Any], seen: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
    if ref in seen:
        raise ConfigError(f"recursive schema reference {ref!r} cannot be expressed as a Gemini responseSchema")
    name = ref.rsplit("/", 1)[-1]
    if not ref.startswith("#/") or name not in defs:
        raise ConfigError(f"schema reference {ref!r} cannot be resolved for Gemini")
    return defs[name], (*seen, ref)


def _convert(node: dict[str, Any], defs: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if "$ref" in node:
        target, seen = _resolve(node["$ref"], defs, seen)
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs, seen)
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if isinstance(options, list):
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            rest = {k: v for k, v in node.items() if k != key}
            out: dict[str, Any]
            if len(non_null) == 1:
                out = _convert({**non_null[0], **rest}, defs, seen)
            else:
                out = {"anyOf": [_convert(o, defs, seen) for o in non_null]}
                if "description" in rest:
                    out["description"] = rest["description"]
            if len(non_null) < len(options):
                out["nullable"] = True
            return out
    if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return _convert({**node["allOf"][0], **rest}, defs, seen)
    out = {}
    kind = node.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        if len(types) < len(kind):
            out["nullable"] = True
        kind = types[0] if len(types) == 1 else None
        if len(types) > 1:
            out["anyOf"] = [_convert({**node, "type": t}, defs, seen) for t in types]
            return out
    if kind is None and "properties" in node:
        kind = "object"
    if kind is None and "const" in node:
        kind = "string"
    if kind is None and "enum" in node:
        kind = "string"
    if kind:
        out["type"] = str(kind).upper()
    for key in _COPY:
        if key in node:
            out[key] = node[key]
    if "const" in node:
        out["enum"] = [str(node["const"])]
    elif "enum" in node:
        out["enum"] = [str(v) for v in node["enum"] if v is not None]
        out["type"] = "STRING"  # Gemini enums are strings
    fmt = node.get("format")
    if fmt and fmt in _FORMATS.get(out.get("type", ""), set()):
        out["format"] = fmt
    if isinstance(node.get("properties"), dict):
        out["properties"] = {name: _convert(sub, defs, seen) for name, sub in node["properties"].items()}
        out["propertyOrdering"] = list(node["properties"])
        if node.get("required"):
            out["required"] = list(node["required"])
    if isinstance(node.get("items"), dict):
        out["items"] = _convert(node["items"], defs, seen)
    return out
