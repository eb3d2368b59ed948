"""Translate Kaizen's JSON schemas to the JSON Schema subset Gemini accepts.

Gemini takes JSON Schema in ``generationConfig.responseJsonSchema`` (structured output) and
``functionDeclarations[].parametersJsonSchema`` (tool parameters). The SDK's types
(google-genai ``GenerationConfig.response_json_schema``) document the subset:

Kept: ``$id``, ``$defs``, ``$ref``, ``$anchor``, ``type``, ``format``, ``title``,
``description``, ``enum`` (strings and numbers), ``items``, ``prefixItems``,
``minItems``/``maxItems``, ``minimum``/``maximum``, ``anyOf``, ``properties``,
``additionalProperties`` (so ``dict[str, float]`` keeps its value type), ``required``,
``propertyOrdering``.

Translated: a ``$ref`` with sibling keywords (pydantic writes ``{"$ref": ..., "description":
...}`` for a described nested model) is inlined, since Gemini allows no sibling of ``$ref``
but ``$``-keywords (:func:`kaizen_core.providers.schema.inline_refs`, the one inliner);
``oneOf`` becomes ``anyOf`` (Gemini reads them alike); ``const`` becomes a one-value ``enum``;
``allOf`` with one member is merged into its node.

Dropped (Gemini does not support them; the agent's validation still enforces them):
``default``, ``examples``, ``pattern``, ``minLength``/``maxLength``, ``exclusiveMinimum``/
``exclusiveMaximum``, ``multipleOf``, ``uniqueItems``, ``not``, ``$schema``, ``$comment`` and
any other keyword outside the list above.
"""

from __future__ import annotations

from typing import Any

from kaizen_core.providers.schema import inline_refs, map_subschemas

__all__ = ["SUPPORTED_KEYWORDS", "to_gemini_schema"]

#: the keywords Gemini's JSON Schema support lists (google-genai 3.6 ``response_json_schema``)
SUPPORTED_KEYWORDS = frozenset(
    {
        "$id",
        "$defs",
        "$ref",
        "$anchor",
        "type",
        "format",
        "title",
        "description",
        "enum",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "anyOf",
        "properties",
        "additionalProperties",
        "required",
        "propertyOrdering",
    }
)


def to_gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema Gemini accepts, equivalent to ``schema`` but for the dropped keywords (module doc).

    A recursive reference that would need inlining (it has siblings) is a ConfigError (KAIZEN_002).
    """
    if "definitions" in schema:  # draft-07 definitions: Gemini knows only $defs, so inline them all
        schema = inline_refs(schema)
    # Drop and rewrite keywords first, so only references still carrying siblings get inlined.
    return inline_refs(_convert(schema), only_with_siblings=True)


def _convert(node: dict[str, Any]) -> dict[str, Any]:
    node = dict(node)
    if "oneOf" in node:
        node["anyOf"] = [*node.get("anyOf", []), *node.pop("oneOf")]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    members = node.get("allOf")
    if isinstance(members, list) and len(members) == 1 and isinstance(members[0], dict):
        node.pop("allOf")
        node = {**members[0], **node}
        return _convert(node)
    if isinstance(node.get("enum"), list):  # Gemini enums hold strings and numbers
        values = [v for v in node.pop("enum") if isinstance(v, str | int | float) and not isinstance(v, bool)]
        if values:
            node["enum"] = values
    kept = {key: value for key, value in node.items() if key in SUPPORTED_KEYWORDS}
    return map_subschemas(kept, _convert)
