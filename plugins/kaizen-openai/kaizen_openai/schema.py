"""OpenAI structured outputs: a schema in the form strict mode accepts, and the way back.

Strict mode (``response_format: {"type": "json_schema", "strict": true}``) constrains
decoding to the schema but accepts a subset of JSON Schema. :func:`strict_schema` makes
the output schema fit (the SDK's ``to_strict_json_schema`` is the reference; it is not
imported, the SDK is no runtime dependency); :func:`from_strict` turns what the model
produced back into the shape of the original schema, before the agent validates it.

What changes, and how it is undone:

* every object gets ``additionalProperties: false`` and lists all its properties in
  ``required``; an optional property becomes required but nullable, and a ``null`` the
  model gives for a property the original schema does not allow to be null is dropped
  (so the field's default applies);
* ``default`` is removed (strict mode refuses it);
* a ``$ref`` with sibling keywords (a nested model with a description) is inlined,
  because the API refuses siblings of ``$ref``; bare references stay;
* a free-form map with typed values (``dict[str, float]``: an object with no
  ``properties`` and an ``additionalProperties`` schema), which strict mode would
  close to ``{}``, becomes an array of ``{"key", "value"}`` pairs, turned back into an
  object by :func:`from_strict`;
* ``oneOf`` becomes ``anyOf`` and pydantic's ``discriminator`` is dropped; a
  one-member ``allOf`` is unwrapped.

A schema strict mode cannot carry at all (a map of untyped values such as
``dict[str, Any]``, a schema without a type, a several-member ``allOf``, properties
together with typed extra properties) makes :func:`strict_schema` return ``None``:
the request then sends the schema unchanged with ``strict: false`` and the agent's
validation enforces it.
"""

from __future__ import annotations

from typing import Any

from kaizen_core.providers.schema import inline_refs, map_subschemas, resolve_ref

__all__ = ["from_strict", "strict_schema"]

Schema = dict[str, Any]

#: keywords strict mode refuses, removed everywhere
_UNSUPPORTED = ("default", "discriminator")
#: the item of the array a typed map becomes
_PAIR_KEYS = ("key", "value")
#: a schema needs one of these to say what it admits (strict mode has no "any" schema)
_TYPED = ("type", "anyOf", "$ref", "enum", "const")


class _NotStrict(Exception):
    """The schema has a part strict mode cannot express."""


def strict_schema(schema: Schema) -> Schema | None:
    """A strict-mode copy of ``schema``, or None when strict mode cannot express it (the input is not modified)."""
    try:
        return _strict(inline_refs(_strip(schema), only_with_siblings=True))
    except _NotStrict:
        return None


def _strip(node: Schema) -> Schema:
    out = {k: v for k, v in node.items() if k not in _UNSUPPORTED}
    if isinstance(out.get("oneOf"), list):
        out["anyOf"] = [*out.get("anyOf", []), *out.pop("oneOf")]
    return map_subschemas(out, _strip)


def _is_object(node: Schema) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or (
        kind is None and ("properties" in node or "additionalProperties" in node)
    )


def _strict(node: Schema) -> Schema:
    all_of = node.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) != 1 or not isinstance(all_of[0], dict):
            raise _NotStrict
        node = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
    node = map_subschemas(node, _strict)
    if not any(key in node for key in _TYPED) and not _is_object(node):
        raise _NotStrict  # e.g. an ``Any`` field: ``{}``
    if not _is_object(node):
        return node
    props = node.get("properties")
    extra = node.get("additionalProperties")
    if not isinstance(props, dict) or not props:
        if not isinstance(extra, dict):
            raise _NotStrict  # a map of anything (``dict[str, Any]``, bare ``{"type": "object"}``)
        return _pairs(node, extra)
    if isinstance(extra, dict) or extra is True:
        raise _NotStrict  # named properties plus open-ended ones
    required = set(node.get("required") or [])
    node["properties"] = {
        name: sub if name in required or not isinstance(sub, dict) else _nullable(sub) for name, sub in props.items()
    }
    node["required"] = list(props)
    node["additionalProperties"] = False
    return node


def _pairs(node: Schema, value: Schema) -> Schema:
    """The array of ``{"key", "value"}`` objects a typed map is sent as."""
    out: Schema = {k: v for k, v in node.items() if k in ("title", "description")}
    out["type"] = "array"
    out["items"] = {
        "type": "object",
        "properties": {"key": {"type": "string"}, "value": value},
        "required": list(_PAIR_KEYS),
        "additionalProperties": False,
    }
    return out


def _nullable(prop: Schema) -> Schema:
    kind = prop.get("type")
    if isinstance(kind, str):
        if kind != "null":
            prop = {**prop, "type": [kind, "null"]}
            if "enum" in prop and None not in prop["enum"]:
                prop["enum"] = [*prop["enum"], None]
        return prop
    if isinstance(kind, list):
        return prop if "null" in kind else {**prop, "type": [*kind, "null"]}
    if "anyOf" in prop:
        if any(isinstance(s, dict) and s.get("type") == "null" for s in prop["anyOf"]):
            return prop
        return {**prop, "anyOf": [*prop["anyOf"], {"type": "null"}]}
    return {"anyOf": [prop, {"type": "null"}]}


# -- the way back ---------------------------------------------------------------------------


def from_strict(value: Any, schema: Schema) -> Any:
    """``value`` (produced under :func:`strict_schema` of ``schema``) in the shape of ``schema``.

    Key/value arrays become maps again, and a ``null`` for a property that is neither
    required nor nullable in ``schema`` is dropped. Anything else is returned as it is.
    """
    return _back(value, schema, schema)


def _back(value: Any, node: Any, root: Schema) -> Any:
    if not isinstance(node, dict):
        return value
    if isinstance(node.get("$ref"), str):
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _back(value, {**resolve_ref(root, node["$ref"]), **siblings}, root)
    for key in ("anyOf", "oneOf", "allOf"):
        options = node.get(key)
        if isinstance(options, list):
            branch = next((o for o in options if _shape_fits(value, o, root)), None)
            return _back(value, branch, root) if branch is not None else value
    if _is_object(node):
        props = node.get("properties")
        extra = node.get("additionalProperties")
        if (not isinstance(props, dict) or not props) and isinstance(extra, dict) and _is_pair_list(value):
            return {pair["key"]: _back(pair["value"], extra, root) for pair in value}
        if isinstance(value, dict) and isinstance(props, dict):
            required = set(node.get("required") or [])
            out: dict[str, Any] = {}
            for name, item in value.items():
                sub = props.get(name)
                if item is None and sub is not None and name not in required and not _admits_null(sub, root):
                    continue
                out[name] = _back(item, sub, root) if sub is not None else item
            return out
        return value
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_back(item, node["items"], root) for item in value]
    return value


def _is_pair_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(p, dict) and set(p) == set(_PAIR_KEYS) for p in value)


def _shape_fits(value: Any, node: Any, root: Schema) -> bool:
    """Whether a union branch is the one ``value`` was produced for (by JSON type)."""
    if not isinstance(node, dict):
        return False
    if isinstance(node.get("$ref"), str):
        return _shape_fits(value, resolve_ref(root, node["$ref"]), root)
    if isinstance(node.get("anyOf"), list):
        return any(_shape_fits(value, o, root) for o in node["anyOf"])
    if value is None:
        return _admits_null(node, root)
    if _is_object(node):
        props = node.get("properties")
        is_map = (not isinstance(props, dict) or not props) and isinstance(node.get("additionalProperties"), dict)
        return _is_pair_list(value) if is_map and isinstance(value, list) else isinstance(value, dict)
    kind = node.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if isinstance(value, list):
        return "array" in kinds
    if isinstance(value, dict):
        return False
    return True


def _admits_null(node: Any, root: Schema) -> bool:
    if not isinstance(node, dict):
        return node is True
    if isinstance(node.get("$ref"), str):
        return _admits_null(resolve_ref(root, node["$ref"]), root)
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if "enum" in node:
        return None in node["enum"]
    if "const" in node:
        return node["const"] is None
    options = [*node.get("anyOf", []), *node.get("oneOf", [])]
    if options:
        return any(_admits_null(o, root) for o in options)
    return kind is None and not _is_object(node) and "items" not in node  # {} admits anything
