"""JSON schema -> GBNF grammar for constrained decoding, and the tool-call envelope schema.

llama.cpp samples only tokens the grammar allows, so the model's output always parses
and matches the schema. llama-cpp-python's converter does the translation; this module
tightens it where the converter is looser than the schema or lets a small model run away:

* string characters exclude raw control characters (strict JSON parsers reject them);
* strings without ``maxLength``/``pattern``/``format`` get ``maxLength`` =
  ``max_string_chars``, lowered by :func:`fit_string_bound` so the reply fits the
  call's ``max_tokens`` (a bound only: every output is still schema-valid, and a
  runaway string cannot be cut off by the token budget, which would leave invalid JSON);
* integers with ``minimum`` and ``maximum`` (at most 1001 values) are enumerated;
* numbers bounded to ``[0, 1]`` (a confidence, a probability) get an exact rule;
  numbers with ``minimum >= 0`` cannot be negative.
  Other numeric bounds are not expressible here: the value is a valid JSON number and
  the agent's validate-and-retry enforces the bound.

Tool calling uses the same mechanism: :func:`tool_envelope_schema` describes either
``{"tool_calls": [{"name": <tool>, "arguments": {...}}]}`` (one variant per tool, so
the arguments match that tool's parameter schema) or ``{"final_answer": ...}``.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from kaizen_core.errors import ConfigError
from kaizen_core.providers.types import ToolDefinition

DEFAULT_MAX_STRING_CHARS = 400
_MAX_ENUMERATED_INTEGERS = 1001
_NUMBER_0_1_RULE = '("0" ("." [0-9] [0-9]? [0-9]? [0-9]?)? | "1" ("." "0" "0"? "0"? "0"?)?) space'
# a JSON string character: anything but a quote, a backslash or a control character, or an escape
_CHAR_RULE = r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
_NON_NEGATIVE_RULE = 'integral-part ("." decimal-part)? ([eE] [-+]? integral-part)? space'


def bound_strings(schema: Any, max_chars: int) -> Any:
    """A copy of ``schema`` where every unbounded free string gets ``maxLength``."""
    if isinstance(schema, list):
        return [bound_strings(item, max_chars) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: bound_strings(value, max_chars) if key != "enum" and key != "const" else value for key, value in schema.items()}
    types = out.get("type")
    is_string = types == "string" or (isinstance(types, list) and types == ["string"])
    if is_string and not ({"maxLength", "pattern", "format", "enum", "const"} & out.keys()):
        out["maxLength"] = max_chars
    return out


def _free_strings_and_fields(schema: Any) -> tuple[int, int]:
    strings = fields = 0
    if isinstance(schema, list):
        for item in schema:
            s, f = _free_strings_and_fields(item)
            strings, fields = strings + s, fields + f
        return strings, fields
    if not isinstance(schema, dict):
        return 0, 0
    if schema.get("type") == "string" and not ({"maxLength", "pattern", "format", "enum", "const"} & schema.keys()):
        strings += 1
    if isinstance(schema.get("properties"), dict):
        fields += len(schema["properties"])
    for key, value in schema.items():
        if key not in ("enum", "const", "default", "examples"):
            s, f = _free_strings_and_fields(value)
            strings, fields = strings + s, fields + f
    return strings, fields


def fit_string_bound(schema: dict[str, Any], max_tokens: int, cap: int = DEFAULT_MAX_STRING_CHARS) -> int:
    """The free-string bound for ``schema`` under a ``max_tokens`` budget (at most ``cap``).

    Budget left after the JSON skeleton (about 8 tokens per field), shared by the free
    strings at about 2 characters per token: a heuristic, exact only for typical text.
    """
    strings, fields = _free_strings_and_fields(schema)
    if strings == 0:
        return cap
    left = max_tokens - 8 * fields - 8
    return max(8, min(cap, 2 * left // strings))


def _number_rule(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    low, high = schema.get("minimum"), schema.get("maximum")
    if kind == "integer" and isinstance(low, int | float) and isinstance(high, int | float):
        lo, hi = int(-(-low // 1)), int(high // 1)
        if 0 <= hi - lo < _MAX_ENUMERATED_INTEGERS:
            return "(" + " | ".join(f'"{value}"' for value in range(lo, hi + 1)) + ") space"
    if kind == "number" and low == 0 and high == 1:
        return _NUMBER_0_1_RULE
    if kind in ("number", "integer") and isinstance(low, int | float) and low >= 0:
        return _NON_NEGATIVE_RULE if kind == "number" else "integral-part space"
    return None


@functools.lru_cache(maxsize=128)
def _gbnf_cached(schema_json: str) -> str:
    from llama_cpp import llama_grammar

    class _Converter(llama_grammar.SchemaConverter):  # type: ignore[misc,name-defined]
        def _add_primitive(self, name: str, rule: Any) -> str:
            if name == "char":
                rule = llama_grammar.BuiltinRule(_CHAR_RULE, [])
            return str(super()._add_primitive(name, rule))

        def visit(self, schema: dict[str, Any], name: str) -> str:
            rule = _number_rule(schema) if isinstance(schema, dict) and "$ref" not in schema else None
            if rule is None:
                return str(super().visit(schema, name))
            for dep in ("integral-part", "decimal-part"):
                if dep in rule:
                    self._add_primitive(dep, llama_grammar.PRIMITIVE_RULES[dep])
            rule_name = name + "-" if name in llama_grammar.RESERVED_NAMES else name or "root"
            return str(self._add_rule(rule_name, rule))

    converter = _Converter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    schema = converter.resolve_refs(json.loads(schema_json), "schema")
    converter.visit(schema, "")
    return str(converter.format_grammar())


def schema_to_gbnf(schema: dict[str, Any], *, max_string_chars: int = DEFAULT_MAX_STRING_CHARS) -> str:
    """GBNF text for ``schema`` (cached per schema). Unsupported schemas raise KAIZEN_002."""
    bounded = bound_strings(schema, max_string_chars)
    try:
        # key order matters: the grammar emits properties in schema order
        return _gbnf_cached(json.dumps(bounded))
    except (AssertionError, KeyError, ValueError, TypeError, NotImplementedError) as exc:
        raise ConfigError(
            f"this JSON schema cannot be turned into a llama.cpp grammar: {exc}",
            hint="simplify the output schema (plain objects, arrays, enums, strings, numbers)",
        ) from exc


@functools.lru_cache(maxsize=128)
def _grammar_cached(gbnf: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(gbnf, verbose=False)


def schema_grammar(schema: dict[str, Any], *, max_string_chars: int = DEFAULT_MAX_STRING_CHARS) -> Any:
    """A ``llama_cpp.LlamaGrammar`` constraining output to ``schema`` (cached)."""
    return _grammar_cached(schema_to_gbnf(schema, max_string_chars=max_string_chars))


def tool_envelope_schema(
    tools: list[ToolDefinition],
    *,
    answer_schema: dict[str, Any] | None,
    tool_choice: str | None,
    max_calls: int = 1,
) -> dict[str, Any]:
    """The JSON schema of a reply when tools are offered.

    ``tool_choice``: ``"auto"``/None (call tools or answer), ``"required"`` (call at
    least one tool), a tool name (call exactly that tool). ``answer_schema`` is the
    shape of ``final_answer`` (a string when None). ``max_calls`` bounds the calls per
    reply (1 by default: small models are steadier one step at a time).
    """
    if tool_choice not in (None, "auto", "required"):
        chosen = [tool for tool in tools if tool.name == tool_choice]
        if not chosen:
            names = ", ".join(tool.name for tool in tools) or "none"
            raise ConfigError(f"tool_choice names unknown tool {tool_choice!r} (offered: {names})")
        tools = chosen
    variants = [
        {
            "type": "object",
            "properties": {"name": {"const": tool.name}, "arguments": _arguments_schema(tool.parameters)},
            "required": ["name", "arguments"],
        }
        for tool in tools
    ]
    calls = {
        "type": "object",
        "properties": {
            "tool_calls": {
                "type": "array",
                "items": variants[0] if len(variants) == 1 else {"anyOf": variants},
                "minItems": 1,
                "maxItems": 1 if tool_choice not in (None, "auto", "required") else max(1, max_calls),
            }
        },
        "required": ["tool_calls"],
    }
    if tool_choice in (None, "auto"):
        answer = {
            "type": "object",
            "properties": {"final_answer": copy.deepcopy(answer_schema) if answer_schema else {"type": "string"}},
            "required": ["final_answer"],
        }
        envelope: dict[str, Any] = {"anyOf": [calls, answer]}
    else:
        envelope = calls
    return _hoist_defs(envelope)


def _hoist_defs(envelope: dict[str, Any]) -> dict[str, Any]:
    """Move nested ``$defs`` to the root, where ``#/$defs/...`` references resolve."""
    defs: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            nested = node.pop("$defs", None)
            if isinstance(nested, dict):
                defs.update(nested)
                walk(nested)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(envelope)
    if defs:
        envelope["$defs"] = defs
    return envelope


def _arguments_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(parameters) if parameters else {}
    if not schema.get("properties") and schema.get("type", "object") == "object":
        # no parameters: the only valid arguments object is {}
        return {"type": "object", "properties": {}, "additionalProperties": False}
    return schema
