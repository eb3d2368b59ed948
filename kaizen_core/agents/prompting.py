"""Turning a signature and inputs into messages, and a model reply back into outputs."""

from __future__ import annotations

import json
import weakref
from typing import Any

from pydantic import ValidationError

from kaizen_core.providers.base import parse_json_output
from kaizen_core.providers.types import Completion, Message, new_message
from kaizen_core.signatures import Signature, _type_name


def system_prompt(signature: Signature, *, extra: str = "") -> str:
    """Instructions, input/output field descriptions and the reply format."""
    cls = signature if isinstance(signature, type) else type(signature)  # no cast(): a call on every run
    base = _base_prompt(cls)  # type: ignore[arg-type]  # a Signature class or instance
    return f"{base}\n{extra}" if extra else base


#: Prompt per signature class, built on first use. Signature classes are immutable
#: (``with_instructions`` and friends derive a new class); weak keys let classes made on
#: the fly (``Signature.parse``) be collected.
_PROMPTS: weakref.WeakKeyDictionary[type[Signature], str] = weakref.WeakKeyDictionary()


def _base_prompt(cls: type[Signature]) -> str:
    prompt = _PROMPTS.get(cls)
    if prompt is None:
        prompt = _PROMPTS[cls] = _build_prompt(cls)
    return prompt


def _build_prompt(signature: type[Signature]) -> str:
    lines: list[str] = []
    instructions = signature.instructions()
    if instructions:
        lines.append(instructions)
    lines.append("Inputs:")
    for f in signature.input_fields().values():
        lines.append(f"- {f.name} ({_type_name(f.annotation)})" + (f": {f.description}" if f.description else ""))
    lines.append("Outputs:")
    for f in signature.output_fields().values():
        lines.append(f"- {f.name} ({_type_name(f.annotation)})" + (f": {f.description}" if f.description else ""))
    lines.append(
        "Reply with one JSON object containing exactly the output fields, matching this JSON schema:\n"
        + json.dumps(signature.output_schema(), separators=(",", ":"))
    )
    return "\n".join(lines)


def user_message(signature: Signature, inputs: dict[str, Any]) -> str:
    """The inputs as ``name: value`` lines (non-strings as JSON)."""
    parts = []
    for name in signature._input_names():
        value = inputs.get(name)
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        parts.append(f"{name}: {text}")
    return "\n".join(parts)


def initial_messages(
    signature: Signature, inputs: dict[str, Any], history: list[Message] | None = None, *, extra_system: str = ""
) -> list[Message]:
    """System prompt, prior conversation turns (memory), then the user's inputs."""
    return [
        new_message({"role": "system", "content": system_prompt(signature, extra=extra_system)}),
        *(history or []),
        new_message({"role": "user", "content": user_message(signature, inputs)}),
    ]


def extract_outputs(signature: Signature, completion: Completion) -> dict[str, Any]:
    """Validate the model's reply against the signature's output model.

    Uses the provider's parsed JSON when present, else parses the text. A signature
    with a single ``str`` output accepts plain non-JSON text as that field.
    Raises pydantic ``ValidationError`` or ``ValueError`` on invalid output.
    """
    data = completion.parsed if completion.parsed is not None else parse_json_output(completion.content)
    if data is None:
        outputs = signature.output_fields()
        if len(outputs) == 1:
            (only,) = outputs.values()
            if only.annotation is str and completion.content:
                return signature.validate_outputs({only.name: completion.content.strip()})
        raise ValueError("the reply is not a JSON object")
    return signature.validate_outputs(data)


def correction_message(error: Exception) -> str:
    """What the model is told after an invalid reply."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors(include_url=False)
        )
    else:
        problems = str(error)
    return (
        f"Your previous reply was invalid ({problems}). "
        "Reply again with only a JSON object that matches the output schema."
    )
