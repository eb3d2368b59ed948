"""Signatures: class syntax, types, instructions, inheritance, string form, errors."""

from __future__ import annotations

import enum
from typing import Literal, Optional

import pytest
from pydantic import BaseModel, ValidationError

from kaizen_core import InputField, OutputField, Signature
from kaizen_core.errors import InputValidationError, SignatureError


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Address(BaseModel):
    city: str
    zip_code: str


class Rich(Signature):
    """Extract structured facts."""

    __intent__ = "Pull facts out of text"
    __guidelines__ = ["Be literal"]

    text: str = InputField(desc="Source text")
    limit: int = InputField(description="Max items", default=5)
    note: Optional[str] = InputField(desc="Optional note", required=False)  # noqa: UP045 -- typing.Optional is part of what is tested
    title: str = OutputField(desc="Title")
    count: int = OutputField()
    score: float = OutputField()
    ok: bool = OutputField()
    meta: dict = OutputField()
    items: list[str] = OutputField()
    priority: Priority = OutputField()
    mode: Literal["fast", "slow"] = OutputField()
    address: Address = OutputField()
    maybe: Optional[int] = OutputField(required=False)  # noqa: UP045


def test_fields_split_by_kind_with_descriptions() -> None:
    assert list(Rich.input_fields()) == ["text", "limit", "note"]
    assert Rich.output_fields()["title"].description == "Title"
    assert Rich.input_fields()["limit"].description == "Max items"


def test_optional_inputs_and_defaults() -> None:
    assert Rich.validate_inputs({"text": "t"}) == {"text": "t", "limit": 5, "note": None}


def test_missing_or_wrong_input_names_the_field() -> None:
    with pytest.raises(InputValidationError) as info:
        Rich.validate_inputs({"limit": "many"})
    assert info.value.code == "EXEC_001"
    assert "text" in info.value.message and "limit" in info.value.message


def test_output_schema_covers_every_type() -> None:
    schema = Rich.output_schema()
    props = schema["properties"]
    assert props["count"]["type"] == "integer"
    assert props["score"]["type"] == "number"
    assert props["items"] == {"items": {"type": "string"}, "title": "Items", "type": "array"}
    assert props["mode"]["enum"] == ["fast", "slow"]
    assert "Priority" in schema["$defs"] and "Address" in schema["$defs"]
    assert set(schema["required"]) == {"title", "count", "score", "ok", "meta", "items", "priority", "mode", "address"}
    assert Rich.output_schema() is schema  # compiled once per class


def test_outputs_are_validated_to_declared_types() -> None:
    out = Rich.validate_outputs(
        {
            "title": "t",
            "count": 2,
            "score": 1,
            "ok": True,
            "meta": {},
            "items": ["a"],
            "priority": "high",
            "mode": "fast",
            "address": {"city": "Paris", "zip_code": "75001"},
        }
    )
    assert out["priority"] is Priority.HIGH
    assert isinstance(out["address"], Address)
    assert isinstance(out["score"], float)
    with pytest.raises(ValidationError):
        Rich.validate_outputs({"title": "t"})


def test_instructions_merge_docstring_intent_guidelines() -> None:
    text = Rich.instructions()
    assert text.startswith("Extract structured facts.")
    assert "Intent: Pull facts out of text" in text
    assert "- Be literal" in text


def test_subclass_merges_and_overrides_fields() -> None:
    class Base(Signature):
        """Base."""

        question: str = InputField(desc="q")
        answer: str = OutputField(desc="a")

    class Child(Base):
        __guidelines__ = ["cite"]
        context: str = InputField(desc="ctx")
        answer: int = OutputField(desc="numeric answer")  # type: ignore[assignment]

    assert list(Child.input_fields()) == ["question", "context"]
    assert Child.output_fields()["answer"].annotation is int
    assert Base.output_fields()["answer"].annotation is str
    assert Child.instructions().startswith("Base.")


def test_with_instructions_and_guidelines_return_new_signatures() -> None:
    sig = Rich()
    changed = sig.with_instructions("Do it differently.").with_guidelines(["Be brief"])
    assert changed.instructions().startswith("Do it differently.")
    assert "- Be literal\n- Be brief" in changed.instructions()
    assert Rich.instructions().startswith("Extract structured facts.")
    assert list(type(changed).output_fields()) == list(Rich.output_fields())


def test_string_form() -> None:
    sig = Signature.parse(
        "question: str, context: list[str] -> answer: str, confidence: float, tags: Optional[list[str]]"
    )
    assert list(type(sig).input_fields()) == ["question", "context"]
    assert type(sig).output_fields()["confidence"].annotation is float
    untyped = Signature.parse("question -> answer")
    assert type(untyped).output_fields()["answer"].annotation is str


@pytest.mark.parametrize(
    "spec",
    ["a: str", "a: str -> ", "a: set -> b", "a: str -> a: int", "a: __import__('os') -> b", "1a -> b", "a, a -> b"],
)
def test_bad_string_forms_raise_signature_error(spec: str) -> None:
    with pytest.raises(SignatureError) as info:
        Signature.parse(spec)
    assert info.value.code == "AGENT_002"


def test_bad_class_definitions_fail_at_class_creation() -> None:
    with pytest.raises(SignatureError, match="no OutputField"):

        class NoOutputs(Signature):
            a: str = InputField()

    with pytest.raises(SignatureError, match="no InputField"):

        class NoInputs(Signature):
            b: str = OutputField()

    with pytest.raises(SignatureError, match="unsupported type"):

        class BadType(Signature):
            a: str = InputField()
            b: set[int] = OutputField()

    with pytest.raises(SignatureError, match="no type annotation"):

        class NoAnnotation(Signature):
            a = InputField()
            b: str = OutputField()


def test_future_annotations_with_local_types() -> None:
    class Local(BaseModel):
        x: int

    class UsesLocal(Signature):
        q: str = InputField()
        out: Local = OutputField()

    assert UsesLocal.validate_outputs({"out": {"x": 1}})["out"].x == 1


def test_optional_inputs_may_be_left_out_and_default_to_none() -> None:
    class WithContext(Signature):
        query: str = InputField(desc="User query", required=True)
        context: Optional[str] = InputField(desc="Additional context")  # noqa: UP045 - the documented form
        hint: str | None = InputField(desc="A hint")
        must: Optional[str] = InputField(desc="Given, even if None", required=True)  # noqa: UP045
        answer: str = OutputField()
        note: Optional[str] = OutputField()  # noqa: UP045 - outputs stay required unless required=False

    assert WithContext.validate_inputs({"query": "q", "must": None}) == {
        "query": "q",
        "context": None,
        "hint": None,
        "must": None,
    }
    with pytest.raises(InputValidationError, match="must"):
        WithContext.validate_inputs({"query": "q"})
    assert set(WithContext.output_schema()["required"]) == {"answer", "note"}


def test_a_signature_without_docstring_has_no_instructions() -> None:
    class Bare(Signature):
        q: str = InputField()
        a: str = OutputField()

    class Documented(Bare):
        """Answer briefly."""

    class Child(Documented):
        pass

    assert Bare.instructions() == ""
    assert Signature.parse("q -> a").instructions() == ""
    assert Child.instructions() == "Answer briefly."  # inherited from the nearest documented class
