"""ResponseCache: model replies kept by the content hash of their request, on a memory tier.

    config = BaseAgentConfig(llm_provider="openai", cache_enabled=True, cache_ttl=3600)
    agent = BaseAgent(config, QASignature())
    agent.run(question="What is AI?")   # asks the model
    agent.run(question="What is AI?")   # same request: answered from the cache, costs nothing

The key (``cache_key_strategy="content_hash"``) is the SHA-256 of the whole request as the
provider would receive it: messages (system prompt, conversation memory, tool results),
output schema and its name, tools and tool choice, generation parameters (temperature,
max_tokens, seed, stop), the model, plus the provider's name and its options
(``provider_config``). Change any of them and the request is a different one. The call
timeout is not part of it (it does not change the answer).

Entries live on any memory tier (``cache_storage``): ``memory://`` by default (in this
process, private to the agent; ``memory://NAME`` shares one store between the agents of a
process), or ``sqlite:///cache.db``, ``redis://...`` to share across processes. Entries
expire after ``cache_ttl`` seconds (None: never), checked against the cache's clock.

A hit returns the stored completion with zero usage and zero cost (no tokens were spent),
so budgets are not charged for it. Failed provider calls are never cached, and neither are
replies cut short (``finish_reason`` ``"length"``, ``"content_filter"``, ``"error"``).

The cache is an optimisation, so a tier outage does not fail the run: a failed read is a
miss and a failed write is skipped, each logged as a warning and counted in
:meth:`ResponseCache.stats` (``errors``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from kaizen_core.errors import KaizenError
from kaizen_core.providers.types import Completion, CompletionRequest, Usage

if TYPE_CHECKING:
    from kaizen_core.memory.tier import MemoryTier

__all__ = ["CACHE_NAMESPACE", "CacheStats", "ResponseCache"]

logger = logging.getLogger(__name__)

#: The tier namespace of cache entries (keys are content hashes, so agents may share it).
CACHE_NAMESPACE = "kaizen-response-cache"
#: Bumped when the key or entry format changes, so old entries are never misread.
_FORMAT = 1
_CACHEABLE = ("stop", "tool_calls")


class CacheStats(BaseModel):
    """Counters of one :class:`ResponseCache`."""

    hits: int = 0
    misses: int = 0
    stores: int = 0
    errors: int = 0


class ResponseCache:
    """Completions by request content hash, on a memory tier (see the module docstring).

    Args:
        storage: a memory tier URL or a :class:`~kaizen_core.memory.tier.MemoryTier`.
        ttl: seconds an entry stays valid (None: no expiry).
        clock: wall-clock seconds (``time.time``); tests pass their own.
    """

    def __init__(
        self,
        storage: str | MemoryTier = "memory://",
        *,
        ttl: float | None = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from kaizen_core.memory.urls import open_tier

        self.tier = open_tier(storage, namespace=CACHE_NAMESPACE)
        self.ttl = ttl
        self._clock = clock
        self._stats = CacheStats()

    @staticmethod
    def key(request: CompletionRequest, *, provider: str, options: dict[str, Any] | None = None) -> str:
        """The content hash of ``request`` for ``provider`` configured with ``options``."""
        body = request.model_dump(mode="json")
        body["params"].pop("timeout", None)  # how long to wait does not change the answer
        canonical = json.dumps(
            {"format": _FORMAT, "provider": provider, "options": options or {}, "request": body},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    async def get(self, key: str) -> Completion | None:
        """The cached completion for ``key`` (zero usage), or None."""
        try:
            entry = await self.tier.get(key)
        except KaizenError as exc:
            self._failed("read", exc)
            return None
        if not isinstance(entry, dict) or entry.get("format") != _FORMAT:
            self._stats.misses += 1
            return None
        expires_at = entry.get("expires_at")
        if expires_at is not None and expires_at <= self._clock():
            self._stats.misses += 1
            return None
        completion = Completion.model_validate(entry["completion"])
        completion.usage = Usage(cost_usd=0.0)
        completion.latency_ms = 0.0
        self._stats.hits += 1
        return completion

    async def put(self, key: str, completion: Completion) -> None:
        """Store ``completion`` under ``key`` (a no-op for replies that are not worth reusing)."""
        if completion.finish_reason not in _CACHEABLE:
            return
        now = self._clock()
        entry = {
            "format": _FORMAT,
            "stored_at": now,
            "expires_at": None if self.ttl is None else now + self.ttl,
            "completion": completion.model_dump(mode="json"),
        }
        try:
            await self.tier.put(key, entry, ttl=self.ttl)
        except KaizenError as exc:
            self._failed("write", exc)
            return
        self._stats.stores += 1

    async def complete(
        self,
        request: CompletionRequest,
        call: Callable[[CompletionRequest], Awaitable[Completion]],
        *,
        provider: str,
        options: dict[str, Any] | None = None,
    ) -> Completion:
        """The cached completion for ``request``, or ``await call(request)``, stored for next time."""
        key = self.key(request, provider=provider, options=options)
        cached = await self.get(key)
        if cached is not None:
            return cached
        completion = await call(request)
        await self.put(key, completion)
        return completion

    def stats(self) -> CacheStats:
        """A copy of the counters."""
        return self._stats.model_copy()

    async def clear(self) -> None:
        """Drop every entry of this cache's tier namespace."""
        await self.tier.clear()

    async def close(self) -> None:
        """Release the tier's connections."""
        await self.tier.close()

    def _failed(self, what: str, exc: KaizenError) -> None:
        self._stats.errors += 1
        logger.warning("response cache %s failed; the provider is asked instead: %s", what, exc)
