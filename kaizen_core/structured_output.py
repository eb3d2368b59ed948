"""Structured outputs: the OpenAI-style ``response_format`` of the original API, and what it means here.

Every agent with a signature already asks its provider for the signature's JSON schema,
and each provider translates it to its native mechanism (OpenAI ``json_schema`` strict,
Gemini ``response_schema``, Anthropic a forced tool, llama.cpp a grammar) and falls back
on its own where a model cannot. So most users configure nothing.

``create_structured_output_config(signature, strict=True, name="analysis")`` returns the
``provider_config`` of the documented manual form::

    {"response_format": {"type": "json_schema",
                         "json_schema": {"name": "analysis", "strict": True, "schema": {...}}}}

An agent reads ``provider_config["response_format"]`` itself (it is never passed to the
provider's constructor):

* ``json_schema``: ``name`` becomes the schema name the provider sends (OpenAI's
  ``json_schema.name``, Anthropic's output tool); the schema must be the agent signature's
  own output schema (KAIZEN_002 otherwise: outputs are validated against the signature,
  so a different schema could only produce results that fail validation);
* ``strict=False`` and ``{"type": "json_object"}`` (the "legacy mode") are accepted, and
  the provider still uses its strongest mode: weaker schema compliance is not offered,
  since a reply that does not match the signature is retried or fails anyway.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from kaizen_core.errors import ConfigError
from kaizen_core.lazy import lazy_exports

if TYPE_CHECKING:
    from kaizen_core.signatures import Signature
    from kaizen_core.structured_output_settings import StructuredOutputSettings

__all__ = ["StructuredOutputSettings", "create_structured_output_config", "structured_output_settings"]

# The settings model is made only by an agent whose provider_config has a response_format: its
# class lives in a module of its own, loaded then (a plain agent's start-up does not make it).
__getattr__, __dir__ = lazy_exports(globals(), {"StructuredOutputSettings": "kaizen_core.structured_output_settings"})


def _signature_class(signature: Signature | type[Signature]) -> type[Signature]:
    from kaizen_core.signatures import Signature

    cls = signature if isinstance(signature, type) else type(signature)
    if not issubclass(cls, Signature):
        raise ConfigError(f"create_structured_output_config needs a Signature, got {type(signature).__name__}")
    return cls


def create_structured_output_config(
    signature: Signature | type[Signature], strict: bool = True, name: str | None = None
) -> dict[str, Any]:
    """The ``provider_config`` asking for ``signature``'s outputs (see the module docstring).

    ``strict=True``: ``{"type": "json_schema", "json_schema": {name, strict, schema}}``;
    ``strict=False``: ``{"type": "json_object"}`` (the legacy form). ``name`` defaults to
    the signature class name.
    """
    cls = _signature_class(signature)
    if not strict:
        return {"response_format": {"type": "json_object"}}
    schema_name = name or cls.__name__
    if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", schema_name):
        raise ConfigError(
            f"structured output name {schema_name!r} must be 1-64 letters, digits, '_' or '-'",
            hint="e.g. name='analysis'",
        )
    return {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "strict": True, "schema": cls.output_schema()},
        }
    }


def structured_output_settings(
    provider_config: dict[str, Any], signature: Signature
) -> tuple[dict[str, Any], StructuredOutputSettings | None]:
    """Split ``provider_config`` into the provider's own options and the response_format settings.

    Raises KAIZEN_002 for a response_format that is not an OpenAI-style one, or whose schema
    is not ``signature``'s output schema.
    """
    if "response_format" not in provider_config:
        return provider_config, None
    from kaizen_core.structured_output_settings import StructuredOutputSettings

    options = {k: v for k, v in provider_config.items() if k != "response_format"}
    fmt = provider_config["response_format"]
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_object":
        return options, StructuredOutputSettings(strict=False)
    if kind != "json_schema" or not isinstance(fmt.get("json_schema"), dict):
        raise ConfigError(
            f"provider_config['response_format'] must be {{'type': 'json_schema', 'json_schema': {{...}}}} "
            f"or {{'type': 'json_object'}}, got {fmt!r}"[:400],
            hint="build it with kaizen_core.structured_output.create_structured_output_config(signature)",
        )
    spec = fmt["json_schema"]
    schema = spec.get("schema")
    if schema is not None and schema != type(signature).output_schema():
        raise ConfigError(
            "provider_config['response_format'] has a schema that is not the signature's output schema",
            hint="outputs are validated against the signature: change the signature's OutputFields instead",
        )
    return options, StructuredOutputSettings(name=spec.get("name"), strict=bool(spec.get("strict", True)))
