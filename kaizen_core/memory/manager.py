"""TierManager: one key space over hot, warm and cold tiers, with promotion and demotion.

* **Reads** try hot, then warm, then cold. Each read of a key is recorded; when a key
  found below the hot tier has been read ``promotion_threshold`` times within the last
  ``promotion_window`` seconds, it is copied up to the hot tier (a cold hit is also
  copied to warm, when there is one, once read ``warm_promotion_threshold`` times).
* **Writes** go to the hot tier and to the persistent tier (warm, else cold):
  ``write_mode="through"`` writes both before returning; ``"behind"`` queues the
  value and writes it on :meth:`TierManager.flush`, when ``write_behind_max_pending``
  values are queued, on :meth:`TierManager.optimize` and on :meth:`TierManager.close`.
  Queued values are also served by reads, so a hot-tier eviction loses nothing.
* **optimize()** demotes hot entries not read or written for ``demote_after`` seconds
  (written down to the persistent tier first, then removed from hot) and, with a cold
  tier, moves warm entries idle for ``cold_after`` seconds down to cold
  (``optimize_tiers()`` is its documented name). With ``auto_optimize`` it also runs from
  ``get``/``put`` once ``optimize_interval`` seconds have passed since the last run.
* The hot tier enforces its own ``max_size``, so it never exceeds it. Without a ``hot``
  tier a private in-process one is made; ``config`` may be a dict of the config fields,
  in the documented spellings too (``TierManager(config={"hot_promotion_threshold": 5})``).
* The manager is async (``await manager.get(...)``) like the tiers it composes: it is the
  storage layer the memory objects build on.

Access times come from ``clock`` (``time.monotonic`` by default) and are kept by the
manager for keys it has seen in this process; a warm entry this process never touched
counts as idle since the manager was created.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from kaizen_core.errors import ConfigError, MemoryBackendError, TierPromotionError
from kaizen_core.memory.codec import LatencyRecorder, check_key, check_ttl, encode_value
from kaizen_core.memory.tier import MemoryTier, TierStats

__all__ = ["TierManager", "TierManagerConfig"]

class TierManagerConfig(BaseModel):
    """How the manager moves entries between tiers (times in seconds).

    The documented dict keys are accepted too: ``hot_promotion_threshold``
    (= ``promotion_threshold``), ``access_window_seconds`` (= ``promotion_window``),
    ``cold_demotion_threshold`` (= ``cold_after``); an unknown key is KAIZEN_002 listing the fields.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    promotion_threshold: int = Field(
        default=5,
        ge=1,
        validation_alias=AliasChoices("promotion_threshold", "hot_promotion_threshold"),
        description="reads within the window that promote a key to hot",
    )
    warm_promotion_threshold: int = Field(
        default=1, ge=1, description="reads within the window that copy a cold hit into warm"
    )
    promotion_window: float = Field(
        default=300.0, gt=0, validation_alias=AliasChoices("promotion_window", "access_window_seconds")
    )
    demote_after: float = Field(default=3600.0, gt=0, description="hot entries idle this long are demoted")
    cold_after: float = Field(
        default=86_400.0,
        gt=0,
        validation_alias=AliasChoices("cold_after", "cold_demotion_threshold"),
        description="warm entries idle this long go to cold",
    )
    write_mode: Literal["through", "behind"] = "through"
    write_behind_max_pending: int = Field(default=1000, ge=1)
    hot_ttl: float | None = Field(default=None, description="TTL given to entries placed in the hot tier")
    auto_optimize: bool = Field(default=False, description="run optimize() from get/put every optimize_interval seconds")
    optimize_interval: float = Field(default=60.0, gt=0)

    @classmethod
    def coerce(cls, value: TierManagerConfig | dict[str, Any] | None) -> TierManagerConfig:
        """A config from a TierManagerConfig, a dict of its fields (documented spellings too) or None."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"TierManager config must be a TierManagerConfig or a dict, got {type(value).__name__}")
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            fields = ", ".join(sorted(cls.model_fields))
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
            raise ConfigError(f"invalid TierManager config ({problems})", hint=f"fields: {fields}") from None


class _TierCounters:
    __slots__ = ("demotions", "hits", "latency", "misses", "promotions")

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.promotions = 0
        self.demotions = 0
        self.latency = LatencyRecorder()


class TierManager:
    """Composes up to three tiers into one async key-value memory."""

    def __init__(
        self,
        hot: MemoryTier | None = None,
        warm: MemoryTier | None = None,
        cold: MemoryTier | None = None,
        config: TierManagerConfig | dict[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if hot is None:
            from kaizen_core.memory.hot import HotMemoryTier

            hot = HotMemoryTier()
        self.hot = hot
        self.warm = warm
        self.cold = cold
        self.config = TierManagerConfig.coerce(config)
        self._clock = clock
        self._created = clock()
        self._last_optimize = self._created
        self._reads: dict[str, deque[float]] = {}
        self._last_access: dict[str, float] = {}
        self._pending: dict[str, tuple[Any, float | None]] = {}
        self._counters: dict[str, _TierCounters] = {name: _TierCounters() for name, _ in self._tiers()}
        if self.config.hot_ttl is not None:
            check_ttl(self.config.hot_ttl)

    def _tiers(self) -> list[tuple[str, MemoryTier]]:
        tiers: list[tuple[str, MemoryTier]] = [("hot", self.hot)]
        if self.warm is not None:
            tiers.append(("warm", self.warm))
        if self.cold is not None:
            tiers.append(("cold", self.cold))
        return tiers

    @property
    def persistent(self) -> MemoryTier | None:
        """The tier writes go through/behind to: warm, else cold, else None."""
        return self.warm if self.warm is not None else self.cold

    def attach_persistent(self, tier: MemoryTier) -> None:
        """Give a manager built without warm and cold tiers its warm tier (what a
        ``PersistentBufferMemory(store, tier_manager=...)`` does with its store)."""
        if self.persistent is not None:
            raise ConfigError(f"{self!r} already has a persistent tier")
        self.warm = tier
        self._counters["warm"] = _TierCounters()

    async def _maybe_optimize(self) -> None:
        if self.config.auto_optimize and self._clock() - self._last_optimize >= self.config.optimize_interval:
            await self.optimize()

    # -- access tracking -------------------------------------------------------------------
    def _touch(self, key: str) -> int:
        """Record a read; return the number of reads inside the promotion window."""
        now = self._clock()
        self._last_access[key] = now
        reads = self._reads.get(key)
        if reads is None:
            reads = self._reads[key] = deque()
        reads.append(now)
        horizon = now - self.config.promotion_window
        while reads and reads[0] < horizon:
            reads.popleft()
        return len(reads)

    def access_count(self, key: str) -> int:
        """Reads of ``key`` inside the current promotion window."""
        reads = self._reads.get(key)
        if not reads:
            return 0
        horizon = self._clock() - self.config.promotion_window
        return sum(1 for t in reads if t >= horizon)

    async def _timed_get(self, name: str, tier: MemoryTier, key: str) -> tuple[bool, Any]:
        counters = self._counters[name]
        start = time.perf_counter()
        value = await tier.get(key)
        found = value is not None or await tier.exists(key)
        counters.latency.add(time.perf_counter() - start)
        if found:
            counters.hits += 1
        else:
            counters.misses += 1
        return found, value

    # -- key-value API ---------------------------------------------------------------------
    async def get(self, key: str, default: Any = None) -> Any:
        """Read through the tiers (hot -> warm -> cold), promoting hot-enough keys."""
        check_key(key)
        await self._maybe_optimize()
        count = self._touch(key)
        found, value = await self._timed_get("hot", self.hot, key)
        if found:
            return value
        if key in self._pending:
            value = self._pending[key][0]
            await self._promote(key, value, "hot")
            return value
        for name, tier in self._tiers()[1:]:
            found, value = await self._timed_get(name, tier, key)
            if not found:
                continue
            if name == "cold" and self.warm is not None and count >= self.config.warm_promotion_threshold:
                await self._promote(key, value, "warm")
            if count >= self.config.promotion_threshold:
                await self._promote(key, value, "hot")
            return value
        return default

    async def _promote(self, key: str, value: Any, into: Literal["hot", "warm"]) -> None:
        """Copy ``key`` up into tier ``into``; a tier failure is TierPromotionError (MEMORY_002)."""
        try:
            if into == "hot":
                await self.hot.put(key, value, ttl=self.config.hot_ttl)
            elif self.warm is not None:
                await self.warm.put(key, value)
        except MemoryBackendError as exc:
            raise TierPromotionError(
                f"promoting a key into the {into} tier failed: {exc.message}", hint=exc.hint, details=exc.details
            ) from exc
        self._counters[into].promotions += 1

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Write to hot, and through or behind to the persistent tier."""
        check_key(key)
        ttl = check_ttl(ttl)
        encode_value(value)  # validate before touching any tier
        await self._maybe_optimize()
        hot_ttl = ttl if self.config.hot_ttl is None else min(ttl or self.config.hot_ttl, self.config.hot_ttl)
        await self.hot.put(key, value, ttl=hot_ttl)
        self._last_access[key] = self._clock()
        target = self.persistent
        if target is None:
            return
        if self.config.write_mode == "through":
            await target.put(key, value, ttl=ttl)
        else:
            self._pending[key] = (value, ttl)
            if len(self._pending) >= self.config.write_behind_max_pending:
                await self.flush()

    async def delete(self, key: str) -> bool:
        """Remove ``key`` from every tier; True when any tier had it."""
        check_key(key)
        found = self._pending.pop(key, None) is not None
        for _, tier in self._tiers():
            found = await tier.delete(key) or found
        self._reads.pop(key, None)
        self._last_access.pop(key, None)
        return found

    async def exists(self, key: str) -> bool:
        check_key(key)
        if key in self._pending:
            return True
        for _, tier in self._tiers():
            if await tier.exists(key):
                return True
        return False

    async def keys(self, prefix: str = "") -> list[str]:
        """Union of the live keys of every tier (and queued writes)."""
        found = {k for k in self._pending if k.startswith(prefix)}
        for _, tier in self._tiers():
            found.update(await tier.keys(prefix))
        return sorted(found)

    async def clear(self) -> None:
        self._pending.clear()
        self._reads.clear()
        self._last_access.clear()
        for _, tier in self._tiers():
            await tier.clear()

    # -- maintenance -----------------------------------------------------------------------
    @property
    def pending_writes(self) -> int:
        """Values queued by write-behind and not yet in the persistent tier."""
        return len(self._pending)

    async def flush(self) -> int:
        """Write queued write-behind values to the persistent tier; returns how many."""
        target = self.persistent
        if target is None or not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        by_ttl: dict[float | None, dict[str, Any]] = {}
        for key, (value, ttl) in pending.items():
            by_ttl.setdefault(ttl, {})[key] = value
        try:
            for ttl, items in by_ttl.items():
                await target.put_many(items, ttl=ttl)
        except BaseException:
            # put back whatever was not confirmed written so nothing is lost
            for key, item in pending.items():
                self._pending.setdefault(key, item)
            raise
        return len(pending)

    async def optimize(self) -> dict[str, int]:
        """Demote idle entries; returns ``{"hot": n_demoted, "warm": n_demoted}``.

        ``optimize_tiers()`` is the documented name of the same call."""
        await self.flush()
        now = self._clock()
        self._last_optimize = now
        result = {"hot": 0, "warm": 0}
        target = self.persistent
        for key in await self.hot.keys():
            if now - self._last_access.get(key, self._created) < self.config.demote_after:
                continue
            if target is not None and not await target.exists(key):
                value = await self.hot.get(key)
                await target.put(key, value)
            if await self.hot.delete(key):
                self._counters["hot"].demotions += 1
                result["hot"] += 1
        if self.warm is not None and self.cold is not None:
            for key in await self.warm.keys():
                if now - self._last_access.get(key, self._created) < self.config.cold_after:
                    continue
                value = await self.warm.get(key)
                await self.cold.put(key, value)
                await self.warm.delete(key)
                self._counters["warm"].demotions += 1
                result["warm"] += 1
        horizon = now - self.config.promotion_window
        for key in [k for k, reads in self._reads.items() if not reads or reads[-1] < horizon]:
            del self._reads[key]
        return result

    optimize_tiers = optimize

    async def stats(self) -> dict[str, TierStats]:
        """Per tier: the tier's own counters plus the manager's hits, misses,
        promotions into it, demotions out of it and p50/p95 read latency (ms)."""
        out: dict[str, TierStats] = {}
        for name, tier in self._tiers():
            counters = self._counters[name]
            stats = (await tier.stats()).model_copy()
            stats.name = name
            stats.hits = counters.hits
            stats.misses = counters.misses
            stats.promotions = counters.promotions
            stats.demotions = counters.demotions
            stats.p50_ms = counters.latency.p50_ms
            stats.p95_ms = counters.latency.p95_ms
            out[name] = stats
        return out

    async def close(self) -> None:
        """Flush queued writes, then close every tier."""
        try:
            await self.flush()
        finally:
            for _, tier in self._tiers():
                await tier.close()

    async def __aenter__(self) -> TierManager:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self._tiers())
        return f"TierManager({names}, write_mode={self.config.write_mode!r})"

