"""kaizen_testing.sdk_types: SDK-style lenient types made strict (unknown keys, lazy iterables, missing fields)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal, Required

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict

from kaizen_testing.sdk_types import sdk_validate


class Fn(TypedDict, total=False):
    name: Required[str]
    arguments: str


class UserMsg(TypedDict, total=False):
    role: Required[Literal["user"]]
    content: Required[str]


class ToolMsg(TypedDict, total=False):
    role: Required[Literal["tool"]]
    tool_call_id: Required[str]
    content: str


class Params(TypedDict, total=False):
    model: Required[str]
    messages: Required[Iterable[UserMsg | ToolMsg]]
    max_tokens: int | None
    function: Annotated[Fn, "sdk metadata"]


class StreamParams(Params):  # total (the default), like the SDKs' *Streaming params over a total=False base
    stream: Required[Literal[True]]


class Reply(BaseModel):
    model_config = ConfigDict(extra="allow")  # as vendor response models are

    class Choice(BaseModel):
        index: int
        text: str | None = None

    id: str
    created: int
    choices: list[Choice]
    defs: dict[str, object] | None = Field(None, alias="$defs")


def test_a_valid_request_passes_and_is_returned_unchanged() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c", "content": "r"}], "max_tokens": None}
    assert sdk_validate(Params, body) is body


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"model": "m", "messages": [], "schema": {}}, "schema"),  # a key the type does not define
        ({"model": "m", "messages": [{"role": "user", "content": "hi", "name": "x"}]}, "messages.0"),  # unknown key in a list item
        ({"model": "m", "messages": [{"role": "tool", "content": "r"}]}, "tool_call_id"),  # a lazily validated Iterable item
        ({"model": "m", "messages": [], "function": {"arguments": "{}"}}, "function.name"),  # through Annotated
        ({"messages": []}, "model"),
    ],
)
def test_requests_the_sdk_type_does_not_define_fail_naming_the_path(body: dict, where: str) -> None:
    with pytest.raises(ValidationError) as info:
        sdk_validate(Params, body)
    assert where in str(info.value)


def test_response_models_are_checked_for_missing_and_unknown_fields() -> None:
    assert sdk_validate(Reply, {"id": "x", "created": 1, "choices": [{"index": 0}], "$defs": {}})
    with pytest.raises(ValidationError, match="created"):
        sdk_validate(Reply, {"id": "x", "choices": []})
    with pytest.raises(ValidationError, match=r"choices\.0\.txt"):
        sdk_validate(Reply, {"id": "x", "created": 1, "choices": [{"index": 0, "txt": "typo"}]})


def test_a_total_subclass_does_not_make_its_bases_keys_required() -> None:
    assert sdk_validate(StreamParams, {"model": "m", "messages": [], "stream": True})
    with pytest.raises(ValidationError, match="stream"):
        sdk_validate(StreamParams, {"model": "m", "messages": []})
