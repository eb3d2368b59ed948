"""Tool parameters in the form Ollama's tool schema carries.

Ollama reads a tool's ``parameters`` into a fixed structure (``api.ToolFunctionParameters``
on the server, ``Tool.Function.Parameters`` in the Python SDK): an object with
``properties`` and ``required``, each property holding ``type`` (a name or a list of
names), ``description``, ``enum``, ``items``, and on the server also nested
``properties``/``required`` and ``anyOf``. Anything else is dropped on the way in, so
pydantic's ``{"$ref": "#/$defs/Model"}`` arrives as an untyped property and
``anyOf: [X, {"type": "null"}]`` (an ``Optional``) loses its type in the SDK.

:func:`ollama_parameters` rewrites a parameter schema into that structure:

* every ``$ref`` is inlined (nested models arrive with their properties; a recursive
  model cannot be inlined: ConfigError, KAIZEN_002);
* an ``anyOf`` whose members are plain types becomes one ``type`` list
  (``Optional[int]`` -> ``{"type": ["integer", "null"]}``); an ``anyOf`` of one richer
  member and ``null`` becomes that member with ``"null"`` added to its type (and to its
  ``enum``); other unions stay ``anyOf`` of simplified members (the server carries it);
* ``const`` becomes a one-value ``enum``; a one-member ``allOf`` is unwrapped;
* a ``default`` other than None is not dropped silently: it is appended to the
  description (``"... (default: "c")"``), since Ollama has no field for it;
* other keywords (``title``, ``format``, bounds, ``additionalProperties``...) are dropped:
  Ollama has nowhere to put them. The tool's own validation still enforces them.
"""

from __future__ import annotations

import json
from typing import Any

from kaizen_core.providers.schema import inline_refs

__all__ = ["ollama_parameters"]

Schema = dict[str, Any]

#: what an Ollama tool property carries (server: api.ToolProperty)
_KEPT = ("type", "description", "enum", "items", "properties", "required", "anyOf")


def ollama_parameters(parameters: Schema) -> Schema:
    """``parameters`` (a tool's JSON schema) rewritten for Ollama; the input is not modified."""
    root = _simplify(inline_refs(parameters))
    root["type"] = "object"
    root.setdefault("properties", {})
    return root


def _simplify(node: Schema) -> Schema:
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        node = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
    options = node.get("anyOf", node.get("oneOf"))
    if isinstance(options, list):
        merged = _union({k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}, options)
        if merged is not None:
            return merged
    out: Schema = {}
    for key in _KEPT:
        if key in node:
            out[key] = node[key]
    if "const" in node:
        out["enum"] = [node["const"]]
    if node.get("default") is not None:  # a None default says no more than the nullable type
        default = json.dumps(node["default"])
        out["description"] = f"{out['description']} (default: {default})" if out.get("description") else f"default: {default}"
    if isinstance(out.get("type"), list) and len(out["type"]) == 1:
        out["type"] = out["type"][0]
    if "type" not in out and "properties" in out:
        out["type"] = "object"
    if isinstance(out.get("items"), dict):
        out["items"] = _simplify(out["items"])
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: _simplify(sub) for name, sub in out["properties"].items() if isinstance(sub, dict)}
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = [_simplify(s) for s in out["anyOf"] if isinstance(s, dict)]
    return out


def _union(rest: Schema, options: list[Any]) -> Schema | None:
    """The simplest form of ``rest`` + ``anyOf: options``; None to keep the union as ``anyOf``."""
    members = [_simplify({**o}) for o in options if isinstance(o, dict)]
    nullable = any(m.get("type") == "null" for m in members)
    others = [m for m in members if m.get("type") != "null"]
    outer = _simplify(rest) if rest else {}
    if all(set(m) == {"type"} and isinstance(m["type"], str) for m in others):
        types = [m["type"] for m in others] + (["null"] if nullable else [])
        return {**outer, "type": types[0] if len(types) == 1 else types}
    if len(others) == 1:
        member = {**others[0], **{k: v for k, v in outer.items() if k != "type"}}
        if nullable:
            kind = member.get("type")
            kinds = kind if isinstance(kind, list) else [kind] if kind else []
            member["type"] = [*kinds, "null"] if kinds else "null"
            if "enum" in member and None not in member["enum"]:
                member["enum"] = [*member["enum"], None]
        return member
    if nullable:
        others.append({"type": "null"})
    return {**outer, "anyOf": others} if others else None
