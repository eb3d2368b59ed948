"""Schema -> grammar translation and the tool envelope (no inference)."""

from __future__ import annotations

import jsonschema
import pytest

from kaizen_core.errors import ConfigError
from kaizen_core.providers.types import ToolDefinition
from kaizen_llamacpp.grammar import bound_strings, fit_string_bound, schema_to_gbnf, tool_envelope_schema

QA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
    "required": ["answer", "confidence"],
}


def test_free_strings_get_a_bound_and_constrained_ones_keep_theirs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "free": {"type": "string"},
            "short": {"type": "string", "maxLength": 5},
            "choice": {"type": "string", "enum": ["a", "b"]},
            "items": {"type": "array", "items": {"type": "string"}},
        },
    }
    bounded = bound_strings(schema, 42)
    props = bounded["properties"]
    assert props["free"]["maxLength"] == 42
    assert props["short"]["maxLength"] == 5
    assert "maxLength" not in props["choice"]
    assert props["items"]["items"]["maxLength"] == 42
    assert "maxLength" not in schema["properties"]["free"], "the caller's schema is not mutated"


def test_string_bound_fits_the_token_budget() -> None:
    assert fit_string_bound(QA, 512, cap=400) == 400
    small = fit_string_bound(QA, 64, cap=400)
    assert 8 <= small < 400
    assert fit_string_bound({"type": "object", "properties": {"n": {"type": "integer"}}}, 16, cap=400) == 400


def test_grammar_properties_follow_schema_order_and_exclude_control_characters() -> None:
    gbnf = schema_to_gbnf(QA, max_string_chars=10)
    root = next(line for line in gbnf.splitlines() if line.startswith("root ::="))
    assert root.index("answer") < root.index("confidence")
    char = next(line for line in gbnf.splitlines() if line.startswith("char ::="))
    assert "\\x00-\\x1F" in char


def test_bounded_numbers_get_exact_rules() -> None:
    schema = {
        "type": "object",
        "properties": {
            "p": {"type": "number", "minimum": 0, "maximum": 1},
            "stars": {"type": "integer", "minimum": 1, "maximum": 3},
        },
        "required": ["p", "stars"],
    }
    gbnf = schema_to_gbnf(schema)
    stars = next(line for line in gbnf.splitlines() if line.startswith("stars ::="))
    assert '"1" | "2" | "3"' in stars
    p = next(line for line in gbnf.splitlines() if line.startswith("p ::="))
    assert '"-"' not in p


def test_unconvertible_schema_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        schema_to_gbnf({"type": "object", "properties": {"x": {"type": "frobnicate"}}})


WEATHER = ToolDefinition(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
NOW = ToolDefinition(name="now")


def test_auto_envelope_accepts_calls_or_a_final_answer() -> None:
    envelope = tool_envelope_schema([WEATHER, NOW], answer_schema=QA, tool_choice=None)
    jsonschema.validate({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}, envelope)
    jsonschema.validate({"tool_calls": [{"name": "now", "arguments": {}}]}, envelope)
    jsonschema.validate({"final_answer": {"answer": "x", "confidence": 0.5}}, envelope)
    for bad in (
        {"tool_calls": [{"name": "get_weather", "arguments": {}}]},
        {"tool_calls": [{"name": "unknown", "arguments": {}}]},
        {"tool_calls": [{"name": "now", "arguments": {"x": 1}}]},
        {"final_answer": {"answer": "x"}},
        {"tool_calls": []},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, envelope)


def test_forced_and_required_envelopes_have_no_answer_branch() -> None:
    forced = tool_envelope_schema([WEATHER, NOW], answer_schema=None, tool_choice="get_weather")
    jsonschema.validate({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}, forced)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tool_calls": [{"name": "now", "arguments": {}}]}, forced)
    required = tool_envelope_schema([WEATHER, NOW], answer_schema=None, tool_choice="required", max_calls=2)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"final_answer": "hi"}, required)
    with pytest.raises(ConfigError):
        tool_envelope_schema([WEATHER], answer_schema=None, tool_choice="missing_tool")


def test_nested_defs_are_hoisted_so_refs_resolve() -> None:
    answer = {
        "$defs": {"City": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
        "type": "object",
        "properties": {"city": {"$ref": "#/$defs/City"}},
        "required": ["city"],
    }
    envelope = tool_envelope_schema([WEATHER], answer_schema=answer, tool_choice=None)
    assert "City" in envelope["$defs"]
    jsonschema.validate({"final_answer": {"city": {"name": "Oslo"}}}, envelope)
    assert "city" in schema_to_gbnf(envelope)
