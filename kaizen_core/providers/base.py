"""The provider protocol: what every LLM backend implements."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers.types import SAMPLING_PARAMS, Completion, CompletionRequest, GenerationParams

if TYPE_CHECKING:
    from kaizen_core.providers.stream_types import Embeddings, StreamEvent


class BaseProvider:
    """Base class of every provider.

    Subclasses implement :meth:`complete`; they override :meth:`stream` and
    :meth:`embed` where the backend supports them. ``name`` is the registered name.
    Constructors take ``model`` plus provider-specific keyword options
    (``provider_config`` in agent config); unknown options raise KAIZEN_002
    (call :meth:`reject_unknown_options` with the leftover ``**options``).

    The sampling options ``top_p``, ``top_k``, ``frequency_penalty`` and
    ``presence_penalty`` are every provider's: a constructor passes its ``**options``
    through :meth:`take_sampling_options` first, and its request builder reads
    :meth:`generation_params` (the request's params, these defaults filling what the
    request leaves unset) instead of ``request.params``.

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
    #: Sampling defaults for every request, set by :meth:`take_sampling_options`.
    sampling_defaults: GenerationParams = GenerationParams()

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

    def take_sampling_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Keep the sampling options of ``options`` as this provider's request defaults.

        Returns the other options (for :meth:`reject_unknown_options`). A value of the
        wrong type or out of range (``top_p`` 0..1, ``top_k`` >= 1, penalties -2..2)
        raises KAIZEN_002 naming the option.
        """
        sampling = {k: options[k] for k in SAMPLING_PARAMS if k in options}
        try:
            self.sampling_defaults = GenerationParams(**sampling)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(
                f"invalid sampling option for the {self.name} provider: {problems}",
                hint="top_p: 0..1, top_k: an integer >= 1, frequency_penalty and presence_penalty: -2..2",
            ) from None
        return {k: v for k, v in options.items() if k not in SAMPLING_PARAMS}

    def generation_params(self, request: CompletionRequest) -> GenerationParams:
        """``request.params`` with :attr:`sampling_defaults` where the request leaves a value unset."""
        params = request.params
        defaults = {
            k: v for k, v in self.sampling_defaults.model_dump(exclude_none=True).items() if getattr(params, k) is None
        }
        return params.model_copy(update=defaults) if defaults else params

    async def complete(self, request: CompletionRequest) -> Completion:
        """Run one completion."""
        raise NotImplementedError

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """Yield text and tool-call deltas, then one ``done`` event with the full completion.

        The default runs :meth:`complete` and yields its content in one piece.
        """
        from kaizen_core.providers.stream_types import StreamEvent

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
