"""Typed signatures: what an agent takes and what it must return.

    class QASignature(Signature):
        \"\"\"Answer questions accurately.\"\"\"
        question: str = InputField(desc="The question")
        answer: str = OutputField(desc="The answer")
        confidence: float = OutputField(desc="0.0 to 1.0")

A signature compiles (once per class) to a pydantic input model, a pydantic output
model and the output JSON schema that providers turn into their native structured
output. The class docstring, ``__intent__`` and ``__guidelines__`` become the
instructions given to the model. Bad definitions raise :class:`SignatureError`
(AGENT_002) when the class is created, not when it is first used.
"""

from __future__ import annotations

import ast
import enum
import inspect
import sys
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, NamedTuple, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from kaizen_core.errors import InputValidationError, SignatureError

__all__ = ["FieldSpec", "InputField", "OutputField", "Signature"]

_MISSING: Any = object()


class _FieldMarker:
    """What ``InputField()``/``OutputField()`` put in a class body (read once by the metaclass)."""

    # Plain classes, not dataclasses, here and below: a dataclass's generated methods cost
    # about a millisecond each at import, on every agent process's start-up path.
    __slots__ = ("default", "description", "extra", "kind", "required")

    def __init__(
        self,
        kind: Literal["input", "output"],
        description: str = "",
        default: Any = _MISSING,
        required: bool | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.description = description
        self.default = default
        self.required = required
        self.extra: dict[str, Any] = {} if extra is None else extra


class FieldSpec(NamedTuple):
    """A compiled signature field (immutable)."""

    name: str
    kind: Literal["input", "output"]
    annotation: Any
    description: str = ""
    default: Any = _MISSING
    required: bool = True
    # read-only (Mapping): a NamedTuple's default is one object shared by every instance
    extra: Mapping[str, Any] = {}

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING


def InputField(
    desc: str | None = None,
    *,
    description: str | None = None,
    default: Any = _MISSING,
    required: bool | None = None,
    **extra: Any,
) -> Any:
    """Declare an input field. ``default=`` makes it optional; so does an ``Optional[T]`` type
    (default None), and ``required=False``; ``required=True`` makes even an Optional input required."""
    return _FieldMarker("input", desc or description or "", default, required, extra)


def OutputField(
    desc: str | None = None,
    *,
    description: str | None = None,
    default: Any = _MISSING,
    required: bool | None = None,
    **extra: Any,
) -> Any:
    """Declare an output field the model must produce (``required=False``: may be omitted)."""
    return _FieldMarker("output", desc or description or "", default, required, extra)


_SIMPLE_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "dict": dict,
    "list": list,
    "Any": Any,
    "None": None,
    "Optional": Optional,
    "Literal": Literal,
    "Union": Union,
}


def _check_type(tp: Any, where: str) -> None:
    """Reject types that cannot round-trip through JSON (e.g. set, bytes, arbitrary classes)."""
    origin = typing.get_origin(tp)
    if tp in (str, int, float, bool, dict, list, Any, type(None)) or tp is None:
        return
    if origin is Literal:
        return
    if isinstance(tp, type) and (issubclass(tp, BaseModel) or issubclass(tp, enum.Enum)):
        return
    if origin in (list, dict, Union) or (origin is not None and str(origin) == "types.UnionType") or _is_pep604(tp):
        for arg in typing.get_args(tp):
            if arg is not Ellipsis:
                _check_type(arg, where)
        return
    if origin is typing.Annotated:
        _check_type(typing.get_args(tp)[0], where)
        return
    raise SignatureError(
        f"unsupported type {tp!r} for {where}",
        hint="use str, int, float, bool, dict, list, list[T], dict[str, T], Optional[T], Literal[...], an Enum or a pydantic model",
    )


def _is_pep604(tp: Any) -> bool:
    import types

    return isinstance(tp, types.UnionType)


def _is_optional(tp: Any) -> bool:
    """True for ``Optional[T]``, ``T | None``, ``Union[..., None]`` (also inside ``Annotated``)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _is_optional(typing.get_args(tp)[0])
    if origin is Union or _is_pep604(tp):
        return type(None) in typing.get_args(tp)
    return False


class _SignatureMeta(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> type:
        markers = {k: v for k, v in ns.items() if isinstance(v, _FieldMarker)}
        for k in markers:
            del ns[k]
        cls = super().__new__(mcls, name, bases, ns, **kw)
        if ns.get("__module__") == __name__ and name == "Signature":
            cls._fields = {}  # type: ignore[attr-defined]
            return cls
        # The defining frame's locals resolve names of classes declared inside functions.
        frame = sys._getframe(1)
        parent_locals = dict(frame.f_locals) if frame.f_code.co_name != "_derive" else {}
        cls._fields = _collect_fields(cls, markers, parent_locals)  # type: ignore[attr-defined]
        _validate_fields(cls)
        cls._compiled = None  # type: ignore[attr-defined]
        return cls


def _collect_fields(cls: type, markers: dict[str, _FieldMarker], parent_locals: dict[str, Any]) -> dict[str, FieldSpec]:
    fields: dict[str, FieldSpec] = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(getattr(base, "_fields", {}) or {})
    if markers:
        module = sys.modules.get(cls.__module__)
        globalns = dict(vars(module)) if module else {}
        localns = {**parent_locals, **vars(cls)}
        own_annotations = inspect.get_annotations(cls)

        def holder() -> None: ...

        holder.__annotations__ = {k: v for k, v in own_annotations.items() if k in markers}
        try:
            hints = typing.get_type_hints(holder, globalns=globalns, localns=localns, include_extras=True)
        except Exception as exc:
            raise SignatureError(
                f"cannot resolve the field types of signature {cls.__name__}: {exc}",
                hint="define the types used in annotations at module level",
            ) from exc
        for fname, marker in markers.items():
            if fname not in own_annotations:
                raise SignatureError(
                    f"field {cls.__name__}.{fname} has no type annotation",
                    hint=f"write `{fname}: str = {'InputField' if marker.kind == 'input' else 'OutputField'}(...)`",
                )
            tp = hints[fname]
            _check_type(tp, f"field {cls.__name__}.{fname}")
            required = marker.required
            if required is None:
                # An Optional[T] input with no default may be left out (it is then None);
                # an Optional output is still expected in the reply (as null), unless required=False.
                required = marker.default is _MISSING and not (marker.kind == "input" and _is_optional(tp))
            default = marker.default if marker.default is not _MISSING else (_MISSING if required else None)
            fields.pop(fname, None)  # an override moves the field to its new kind
            fields[fname] = FieldSpec(fname, marker.kind, tp, marker.description, default, required, marker.extra)
    return fields


def _validate_fields(cls: type) -> None:
    fields: dict[str, FieldSpec] = cls._fields  # type: ignore[attr-defined]
    name = cls.__name__
    if not any(f.kind == "input" for f in fields.values()):
        raise SignatureError(f"signature {name} has no InputField", hint="declare at least one input")
    if not any(f.kind == "output" for f in fields.values()):
        raise SignatureError(f"signature {name} has no OutputField", hint="declare at least one output")
    for fname in fields:
        if fname.startswith("_"):
            raise SignatureError(f"field name {fname!r} in {name} must not start with an underscore")


class _Compiled:
    """What a signature class builds once: its models, output schema and field names."""

    __slots__ = ("input_model", "input_names", "output_model", "output_names", "output_schema")

    def __init__(
        self,
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        output_schema: dict[str, Any],
        input_names: tuple[str, ...] = (),
        output_names: tuple[str, ...] = (),
    ) -> None:
        self.input_model = input_model
        self.output_model = output_model
        self.output_schema = output_schema
        self.input_names = input_names
        self.output_names = output_names


class Signature(metaclass=_SignatureMeta):
    """Base class of every signature. Subclass it, or use :meth:`Signature.parse`."""

    _fields: ClassVar[dict[str, FieldSpec]]
    _compiled: ClassVar[_Compiled | None]
    __intent__: ClassVar[str] = ""
    __guidelines__: ClassVar[list[str] | tuple[str, ...]] = ()

    # --- introspection --------------------------------------------------------------------
    @classmethod
    def input_fields(cls) -> dict[str, FieldSpec]:
        return {k: f for k, f in cls._fields.items() if f.kind == "input"}

    @classmethod
    def _input_names(cls) -> tuple[str, ...]:
        """Internal: the input field names, in order (built once per class; the prompt reads them every run)."""
        return cls._compile().input_names

    @classmethod
    def output_fields(cls) -> dict[str, FieldSpec]:
        return {k: f for k, f in cls._fields.items() if f.kind == "output"}

    @classmethod
    def signature_name(cls) -> str:
        return cls.__name__

    @classmethod
    def instructions(cls) -> str:
        """Docstring, intent and guidelines, as one instruction text for the model."""
        parts: list[str] = []
        # The nearest docstring of a user's signature class; Signature's and object's are not instructions.
        doc = next(
            (b.__dict__["__doc__"] for b in cls.__mro__ if b not in (Signature, object) and b.__dict__.get("__doc__")),
            None,
        )
        if doc:
            parts.append(" ".join(doc.split()))
        if cls.__intent__:
            parts.append(f"Intent: {cls.__intent__}")
        guidelines = cls.guidelines()
        if guidelines:
            parts.append("Guidelines:\n" + "\n".join(f"- {g}" for g in guidelines))
        return "\n\n".join(parts)

    @classmethod
    def guidelines(cls) -> list[str]:
        """Guidelines merged along the class hierarchy (base first, no duplicates)."""
        out: list[str] = []
        for klass in reversed(cls.__mro__):
            for g in klass.__dict__.get("__guidelines__", ()) or ():
                if g not in out:
                    out.append(g)
        return out

    # --- compilation ----------------------------------------------------------------------
    @classmethod
    def _compile(cls) -> _Compiled:
        compiled = cls.__dict__.get("_compiled")
        if compiled is None:
            inputs, outputs = cls.input_fields(), cls.output_fields()
            compiled = _Compiled(
                input_model=_build_model(f"{cls.__name__}Input", inputs, forbid_extra=True),
                output_model=_build_model(f"{cls.__name__}Output", outputs, forbid_extra=False),
                output_schema={},
                input_names=tuple(inputs),
                output_names=tuple(outputs),
            )
            compiled.output_schema = compiled.output_model.model_json_schema()
            cls._compiled = compiled
        return compiled

    @classmethod
    def input_model(cls) -> type[BaseModel]:
        """Pydantic model validating the inputs."""
        return cls._compile().input_model

    @classmethod
    def output_model(cls) -> type[BaseModel]:
        """Pydantic model validating the outputs."""
        return cls._compile().output_model

    @classmethod
    def output_schema(cls) -> dict[str, Any]:
        """JSON schema of the outputs (cached per class; do not mutate)."""
        return cls._compile().output_schema

    @classmethod
    def validate_inputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        """Validate and coerce inputs; EXEC_001 naming the offending field on failure."""
        try:
            # the model's validator itself: model_validate() only adds a Python call around it
            model = cls._compile().input_model.__pydantic_validator__.validate_python(inputs)
        except ValidationError as exc:
            raise InputValidationError(
                f"invalid input for {cls.__name__}: {_describe_validation_error(exc)}",
                hint=f"expected inputs: {', '.join(cls.input_fields())}",
                details={"errors": exc.errors(include_url=False, include_context=False, include_input=False)},
            ) from exc
        return model.model_dump(mode="python")

    @classmethod
    def validate_outputs(cls, data: Any) -> dict[str, Any]:
        """Validate a parsed model reply; raises pydantic ValidationError."""
        compiled = cls._compile()
        model = compiled.output_model.__pydantic_validator__.validate_python(data)
        values = model.__dict__
        return {name: values[name] for name in compiled.output_names}

    # --- derivation -----------------------------------------------------------------------
    def with_instructions(self, instructions: str) -> Signature:
        """A new signature equal to this one with ``instructions`` as its docstring."""
        return _derive(type(self), {"__doc__": instructions})()

    def with_guidelines(self, guidelines: list[str]) -> Signature:
        """A new signature with ``guidelines`` appended to the inherited ones."""
        return _derive(type(self), {"__guidelines__": tuple(guidelines)})()

    @classmethod
    def parse(cls, spec: str, *, name: str = "ParsedSignature", instructions: str = "") -> Signature:
        """Build a signature from ``"question: str, context: str -> answer: str, confidence: float"``.

        Types default to ``str``; allowed: str, int, float, bool, dict, list, Any,
        list[T], dict[K, V], Optional[T], T | None, Literal[...].
        """
        if spec.count("->") != 1:
            raise SignatureError(f"signature {spec!r} must contain exactly one '->'", hint="write 'inputs -> outputs'")
        left, right = spec.split("->")
        inputs, outputs = _parse_side(left, spec), _parse_side(right, spec)
        both = set(inputs) & set(outputs)
        if both:
            raise SignatureError(f"field(s) {', '.join(sorted(both))} appear as both input and output in {spec!r}")
        ns: dict[str, Any] = {"__annotations__": {}, "__module__": __name__, "__doc__": instructions or None}
        for fname, tp in inputs.items():
            ns["__annotations__"][fname] = tp
            ns[fname] = InputField()
        for fname, tp in outputs.items():
            ns["__annotations__"][fname] = tp
            ns[fname] = OutputField()
        return _SignatureMeta(name, (Signature,), ns)()  # type: ignore[return-value]

    def __repr__(self) -> str:
        ins = ", ".join(f"{f.name}: {_type_name(f.annotation)}" for f in self.input_fields().values())
        outs = ", ".join(f"{f.name}: {_type_name(f.annotation)}" for f in self.output_fields().values())
        return f"{type(self).__name__}({ins} -> {outs})"


def _derive(base: type[Signature], ns: dict[str, Any]) -> type[Signature]:
    body = {"__module__": base.__module__, "__qualname__": base.__qualname__, **ns}
    derived = _SignatureMeta(base.__name__, (base,), body)
    return derived  # type: ignore[return-value]


def _build_model(name: str, fields: dict[str, FieldSpec], *, forbid_extra: bool) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for spec in fields.values():
        kwargs: dict[str, Any] = {"description": spec.description or None}
        if spec.extra:
            kwargs["json_schema_extra"] = dict(spec.extra)
        default = ... if spec.required and not spec.has_default else spec.default
        definitions[spec.name] = (spec.annotation, Field(default, **kwargs))
    config = ConfigDict(extra="forbid" if forbid_extra else "ignore")
    return create_model(name, __config__=config, **definitions)  # type: ignore[call-overload, no-any-return]


def _describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"field '{loc}': {err['msg']}")
    return "; ".join(parts)


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    depth = 0
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def _parse_side(text: str, spec: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in _split_top_level(text):
        fname, _, type_src = item.partition(":")
        fname = fname.strip()
        if not fname.isidentifier():
            raise SignatureError(f"invalid field name {fname!r} in signature {spec!r}")
        if fname in fields:
            raise SignatureError(f"field {fname!r} declared twice in signature {spec!r}")
        fields[fname] = _parse_type(type_src.strip() or "str", spec)
    if not fields:
        raise SignatureError(f"signature {spec!r} needs at least one field on each side of '->'")
    return fields


def _parse_type(src: str, spec: str) -> Any:
    """Evaluate a type expression from a small safe grammar (no eval of arbitrary code)."""
    try:
        node = ast.parse(src, mode="eval").body
    except SyntaxError as exc:
        raise SignatureError(f"cannot parse type {src!r} in signature {spec!r}") from exc

    def build(n: ast.expr) -> Any:
        if isinstance(n, ast.Name) and n.id in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[n.id]
        if isinstance(n, ast.Constant) and (n.value is None or isinstance(n.value, str | int | bool)):
            return n.value
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
            return Optional[build(n.left)] if build(n.right) is None else Union[build(n.left), build(n.right)]  # noqa: UP007, UP045
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id in _SIMPLE_TYPES:
            origin = _SIMPLE_TYPES[n.value.id]
            args = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            built = tuple(build(a) for a in args)
            return origin[built if len(built) > 1 else built[0]]
        raise SignatureError(
            f"unsupported type {src!r} in signature {spec!r}",
            hint="allowed: str, int, float, bool, dict, list, Any, list[T], dict[K, V], Optional[T], Literal[...]",
        )

    tp = build(node)
    _check_type(tp, f"signature {spec!r}")
    # Imported here: only string-typed signatures need it, and loading pydantic's type_adapter
    # module cost every process ~3.4 M instructions at start (820.2 M -> 816.8 M, issue 16).
    from pydantic import TypeAdapter

    try:
        TypeAdapter(tp)
    except Exception as exc:
        raise SignatureError(f"unsupported type {src!r} in signature {spec!r}: {exc}") from exc
    return tp
