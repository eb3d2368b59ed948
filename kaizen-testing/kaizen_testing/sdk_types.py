"""Vendor SDK types as the schema of the wire, for provider tests.

A provider plugin talks HTTP without the vendor's SDK; its tests check what it sends and
what it parses against the SDK's own type definitions (a test-only dependency)::

    from openai.types.chat import ChatCompletion
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
    from kaizen_testing.sdk_types import sdk_validate

    sdk_validate(CompletionCreateParamsNonStreaming, body)    # every request the plugin sent
    reply = sdk_validate(ChatCompletion, fixture)             # every response a stub serves

The SDKs' types are lenient by design (a TypedDict ignores unknown keys, pydantic's
``Iterable`` is validated lazily, response models allow extra fields), which would let a
misspelt or invented key through. :func:`strict_type` therefore rewrites a type graph
(TypedDicts, pydantic models, and the containers and unions around them) into a copy that
forbids unknown keys and validates every item eagerly; :func:`sdk_validate` validates
with that copy and raises pydantic's ``ValidationError`` naming the path of each problem.
pydantic is the only import; the SDK is whatever the caller passes in.
"""

from __future__ import annotations

import collections.abc as cabc
import types
import typing
from typing import Any

import typing_extensions
from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

__all__ = ["sdk_validate", "strict_type"]

_FORBID = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)
_SEQUENCES = {cabc.Iterable, cabc.Sequence, cabc.Collection, list, typing.List}  # noqa: UP006
_MAPPINGS = {cabc.Mapping, cabc.MutableMapping, dict, typing.Dict}  # noqa: UP006
_cache: dict[Any, Any] = {}
_adapters: dict[Any, TypeAdapter[Any]] = {}


def strict_type(tp: Any) -> Any:
    """A copy of ``tp`` whose TypedDicts and models forbid unknown keys and whose iterables are lists.

    Everything else (scalars, ``Literal``, ``Any``, ``object``) is kept as it is. Results are
    cached per type. Recursive type graphs are not supported (the vendor request types are not).
    """
    if tp in _cache:
        return _cache[tp]
    result = _rewrite(tp, ())
    _cache[tp] = result
    return result


def sdk_validate(tp: Any, data: Any) -> Any:
    """Validate ``data`` (JSON-like) against :func:`strict_type` of ``tp``; return ``data`` unchanged.

    Raises ``pydantic.ValidationError`` listing every unknown key, missing required key and
    wrong value, each with its path.
    """
    adapter = _adapters.get(tp)
    if adapter is None:
        adapter = _adapters[tp] = TypeAdapter(strict_type(tp))
    adapter.validate_python(data)
    return data


def _rewrite(tp: Any, stack: tuple[Any, ...]) -> Any:
    if tp in stack:
        raise TypeError(f"recursive type {tp!r} is not supported by strict_type")
    if isinstance(tp, str | typing.ForwardRef):
        raise TypeError(f"unresolved forward reference {tp!r}")
    if typing_extensions.is_typeddict(tp):
        return _typed_dict(tp, (*stack, tp))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _model(tp, (*stack, tp))
    origin = typing_extensions.get_origin(tp)
    args = typing_extensions.get_args(tp)
    if origin is None or not args:
        if tp in _SEQUENCES:
            return list
        return tp
    if origin is typing_extensions.Annotated:
        return _rewrite(args[0], stack)  # SDK metadata (aliases for its own transform, discriminators) is not pydantic's
    if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing_extensions.ReadOnly):
        return _rewrite(args[0], stack)
    if origin is typing.Literal or origin is typing_extensions.Literal:
        return tp
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_rewrite(a, stack) for a in args)]  # noqa: UP007
    if origin in _SEQUENCES:
        return list[_rewrite(args[0], stack)]  # type: ignore[misc]
    if origin in _MAPPINGS:
        return dict[_rewrite(args[0], stack), _rewrite(args[1], stack)]  # type: ignore[misc]
    if origin is tuple:
        return tuple[tuple(_rewrite(a, stack) for a in args)]  # type: ignore[misc]
    return tp


def _typed_dict(tp: Any, stack: tuple[Any, ...]) -> Any:
    # The SDKs write ``from __future__ import annotations``: their ``__required_keys__`` are
    # empty, so a key is required when its resolved hint says ``Required[...]``, or when the
    # TypedDict that declares it is total and the hint is not ``NotRequired[...]``.
    hints = typing_extensions.get_type_hints(tp, include_extras=True)
    totality = _totality(tp)
    fields: dict[str, Any] = {}
    for name, hint in hints.items():
        qualifiers = _qualifiers(hint)
        required = typing_extensions.Required in qualifiers or (
            totality.get(name, True) and typing_extensions.NotRequired not in qualifiers
        )
        inner = _rewrite(hint, stack)
        fields[name] = typing_extensions.Required[inner] if required else typing_extensions.NotRequired[inner]
    strict = typing_extensions.TypedDict(f"Strict{tp.__name__}", fields, total=False)  # type: ignore[operator,misc]
    setattr(strict, "__pydantic_config__", _FORBID)  # noqa: B010  (pydantic reads it from the class)
    return strict


def _totality(tp: Any) -> dict[str, bool]:
    """``total`` of the TypedDict that first declares each key (a subclass may differ from its base)."""
    result: dict[str, bool] = {}
    for base in getattr(tp, "__orig_bases__", ()):
        if typing_extensions.is_typeddict(base):
            result.update({k: v for k, v in _totality(base).items() if k not in result})
    total = bool(getattr(tp, "__total__", True))
    for name in getattr(tp, "__annotations__", {}):
        result.setdefault(name, total)
    return result


def _qualifiers(hint: Any) -> set[Any]:
    """``Required`` / ``NotRequired`` wrapping ``hint`` (also inside ``Annotated``)."""
    found: set[Any] = set()
    while True:
        origin = typing_extensions.get_origin(hint)
        if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing_extensions.ReadOnly):
            found.add(origin)
        elif origin is not typing_extensions.Annotated:
            return found
        hint = typing_extensions.get_args(hint)[0]


def _model(tp: type[BaseModel], stack: tuple[Any, ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, info in tp.model_fields.items():
        copy = info._copy()  # keeps alias, default and constraints
        fields[name] = (_rewrite(info.annotation, stack), copy)
    model: type[BaseModel] = create_model(f"Strict{tp.__name__}", __config__=_FORBID, **fields)
    return model
