"""JSON-schema transformations shared by providers.

Providers translate the one output/parameter schema Kaizen produces (pydantic's JSON
schema: nested models as ``$ref`` into ``$defs``) into what their API accepts. The
pieces several of them need live here, once:

* :func:`map_subschemas` applies a function to every direct subschema of a node,
  knowing which keywords hold schemas (``properties`` values, ``items``, ``anyOf``...)
  and which hold data (``enum``, ``const``, ``default``, ``examples``);
* :func:`resolve_ref` follows a local ``#/...`` reference;
* :func:`inline_refs` replaces references by their targets: all of them (for APIs
  without ``$ref`` support, e.g. Ollama's tool parameters) or only those with sibling
  keywords (OpenAI's strict mode refuses ``{"$ref": ..., "description": ...}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kaizen_core.errors import ConfigError

__all__ = ["inline_refs", "map_subschemas", "resolve_ref"]

Schema = dict[str, Any]

#: keywords whose value is one subschema
_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedProperties")
#: keywords whose value is a list of subschemas
_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")
#: keywords whose value maps names to subschemas
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def map_subschemas(node: Schema, fn: Callable[[Schema], Any]) -> Schema:
    """A shallow copy of ``node`` with ``fn`` applied to each direct subschema.

    Boolean schemas (``additionalProperties: false``) and data keywords are kept as they are.
    """
    out = dict(node)
    for key in _ONE:
        if isinstance(out.get(key), dict):
            out[key] = fn(out[key])
    for key in _LIST:
        if isinstance(out.get(key), list):
            out[key] = [fn(s) if isinstance(s, dict) else s for s in out[key]]
    for key in _MAP:
        if isinstance(out.get(key), dict):
            out[key] = {name: fn(s) if isinstance(s, dict) else s for name, s in out[key].items()}
    return out


def resolve_ref(root: Schema, ref: str) -> Schema:
    """The subschema of ``root`` that the local reference ``ref`` (``#/$defs/Name``) points to.

    Only local JSON pointers are supported; anything else is a ConfigError (KAIZEN_002).
    """
    if not ref.startswith("#"):
        raise ConfigError(f"schema reference {ref!r} is not local (only '#/...' references are supported)")
    target: Any = root
    for part in ref[1:].split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or key not in target:
            raise ConfigError(f"schema reference {ref!r} does not resolve")
        target = target[key]
    if not isinstance(target, dict):
        raise ConfigError(f"schema reference {ref!r} does not point to a schema")
    return target


def inline_refs(schema: Schema, *, only_with_siblings: bool = False) -> Schema:
    """A copy of ``schema`` with local ``$ref`` replaced by the schema they point to.

    The reference's sibling keywords win over the target's (``{"$ref": X, "description": d}``
    becomes X with description d). With ``only_with_siblings`` only references that have
    siblings are inlined: bare references and ``$defs`` stay. Otherwise every reference is
    inlined and ``$defs``/``definitions`` are removed; a recursive reference cannot be
    inlined and is a ConfigError (KAIZEN_002). The input is not modified.
    """

    def walk(node: Schema, seen: tuple[str, ...]) -> Schema:
        ref = node.get("$ref")
        if isinstance(ref, str) and (not only_with_siblings or len(node) > 1):
            if ref in seen:
                raise ConfigError(
                    f"schema reference {ref!r} is recursive and cannot be inlined",
                    hint="use a non-recursive model for this output or tool parameter",
                )
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return walk({**resolve_ref(schema, ref), **siblings}, (*seen, ref))
        if not only_with_siblings:  # nothing refers to the definitions any more
            node = {k: v for k, v in node.items() if k not in ("$defs", "definitions")}
        return map_subschemas(node, lambda sub: walk(sub, seen))

    return walk(schema, ())
