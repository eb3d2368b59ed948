"""How an agent calls its model: one provider call per request, under the agent's timeout,
streamed when ``stream`` is set, answered from the response cache when ``cache_enabled``
(:mod:`kaizen_core.agents.response_cache`), with the structured-output name of
``provider_config["response_format"]`` (:mod:`kaizen_core.structured_output`).

Every model call of every agent (single-shot, tool loop, autonomous loop, planning,
the final-answer turn) goes through :meth:`ModelCalls._call_provider`, so the cache and the
structured-output settings apply everywhere at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kaizen_core.agents.run import call_with_timeout
from kaizen_core.errors import ProviderError
from kaizen_core.providers.types import Completion, CompletionRequest

if TYPE_CHECKING:
    from kaizen_core.agents.response_cache import ResponseCache
    from kaizen_core.config import BaseAgentConfig
    from kaizen_core.providers.base import BaseProvider
    from kaizen_core.providers.stream_types import StreamEvent
    from kaizen_core.structured_output import StructuredOutputSettings

__all__ = ["ModelCalls"]


class ModelCalls:
    """Mixin of :class:`~kaizen_core.agents.BaseAgent`: the agent's model calls (see the module docstring)."""

    config: BaseAgentConfig
    provider: BaseProvider
    #: From ``provider_config["response_format"]`` (None: the signature's defaults).
    structured_output: StructuredOutputSettings | None = None
    #: Called with each :class:`StreamEvent` as it arrives when ``config.stream`` is on (the
    #: one way to see tokens live: ``kaizen run --stream`` prints the text events). None: no listener.
    stream_listener: Callable[[StreamEvent], Any] | None = None
    _response_cache: ResponseCache | None = None

    @property
    def response_cache(self) -> ResponseCache | None:
        """The response cache (None unless ``cache_enabled``), made on first use from
        ``cache_storage`` and ``cache_ttl``. Assign a :class:`ResponseCache` to use another one."""
        if self._response_cache is None and self.config.cache_enabled:
            from kaizen_core.agents.response_cache import ResponseCache

            self._response_cache = ResponseCache(self.config.cache_storage, ttl=self.config.cache_ttl)
        return self._response_cache

    @response_cache.setter
    def response_cache(self, cache: ResponseCache | None) -> None:
        self._response_cache = cache

    async def _close_response_cache(self) -> None:
        """Release the cache tier's connections (``aclose``); a later call opens a new cache."""
        cache, self._response_cache = self._response_cache, None
        if cache is not None:
            await cache.close()

    async def _call_provider(self, request: CompletionRequest) -> Completion:
        """One model call: from the cache when it holds this request, else the provider under ``timeout``."""
        settings = self.structured_output
        if settings is not None and settings.name and request.output_schema is not None:
            request = request.model_copy(update={"schema_name": settings.name})
        cache = self.response_cache
        if cache is None:
            return await self._call_provider_uncached(request)
        return await cache.complete(
            request, self._call_provider_uncached, provider=self.provider.name, options=self.config.provider_config
        )

    async def _call_provider_uncached(self, request: CompletionRequest) -> Completion:
        """The provider call under the configured timeout (streaming when ``stream``)."""
        if self.config.stream:
            return await call_with_timeout(self._collect_stream, request, self.config.timeout)
        return await call_with_timeout(self.provider.complete, request, self.config.timeout)

    async def _collect_stream(self, request: CompletionRequest) -> Completion:
        final: Completion | None = None
        event: StreamEvent
        async for event in self.provider.stream(request):
            if self.stream_listener is not None:
                self.stream_listener(event)
            if event.type == "done":
                final = event.completion
        if final is None:
            raise ProviderError(f"provider {self.provider.name!r} ended its stream without a final completion")
        return final
