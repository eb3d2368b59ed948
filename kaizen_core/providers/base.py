"""The provider protocol: what every LLM backend implements."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, ClassVar

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers.types import Completion, CompletionRequest, Embeddings, StreamEvent


class BaseProvider:
    """Base class of every provider.

    Subclasses implement :meth:`complete`; they override :meth:`stream` and
    :meth:`embed` where the backend supports them. ``name`` is the registered name.
    Constructors take ``model`` plus provider-specific keyword options
    (``provider_config`` in agent config); unknown options raise KAIZEN_002
    (call :meth:`reject_unknown_options` with the leftover ``**options``).

    ``structured_output`` documents how ``output_schema`` is honoured:
    ``"native"`` (the backend enforces the schema), ``"json_mode"`` (JSON guaranteed,
    schema in the prompt) or ``"prompt"`` (instructions only; the agent validates and
    retries).
    """

    name: ClassVar[str] = "base"
    default_model: ClassVar[str] = ""
    structured_output: ClassVar[str] = "prompt"
    supports_tools: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = False

    def __init__(self, model: str | None = None, **options: Any) -> None:
        self.model = model or self.default_model
        self.options = options

    @classmethod
    def reject_unknown_options(cls, options: Mapping[str, Any], known: Iterable[str]) -> None:
        """Raise KAIZEN_002 (:class:`ConfigError`) when ``options`` is not empty.

        For constructors that take their known options as keyword arguments and collect
        the rest in ``**options``: the message names the unknown ones (sorted) and the
        hint lists ``known`` in the order given.
        """
        if options:
            raise ConfigError(
                f"unknown option(s) for the {cls.name} provider: {', '.join(sorted(options))}",
                hint=f"known: {', '.join(known)}",
            )

    async def complete(self, request: CompletionRequest) -> Completion:
        """Run one completion."""
        raise NotImplementedError

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """Yield text and tool-call deltas, then one ``done`` event with the full completion.

        The default runs :meth:`complete` and yields its content in one piece.
        """
        completion = await self.complete(request)
        if completion.content:
            yield StreamEvent(type="text", text=completion.content)
        yield StreamEvent(type="done", completion=completion)

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        """Embed texts. Providers without embeddings raise AGENT_004."""
        raise ProviderError(
            f"provider {self.name!r} does not support embeddings",
            hint="configure a provider with embeddings (llamacpp, openai, ollama, google, sentence-transformers)",
        )

    async def aclose(self) -> None:
        """Release connections. Safe to call twice."""

    def complete_sync(self, request: CompletionRequest) -> Completion:
        """Blocking :meth:`complete` (works inside a running event loop too)."""
        from kaizen_core._sync import run_sync

        return run_sync(self.complete, request)

    def embed_sync(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        """Blocking :meth:`embed`."""
        from kaizen_core._sync import run_sync

        return run_sync(lambda: self.embed(texts, model=model))


def parse_json_output(text: str | None) -> dict[str, Any] | None:
    """Best-effort extraction of one JSON object from model text (fences, prose around it).

    Returns None when no object can be parsed; validation is the agent's job.
    """
    if not text:
        return None
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`")
        if stripped.lower().startswith("json"):
            stripped = stripped[4:]
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError:
        start = stripped.find("{")
        if start < 0:
            return None
        try:
            value, _ = json.JSONDecoder().raw_decode(stripped[start:])
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None
