"""kaizen-redis: checkpoints and a memory tier on Redis, selected by ``redis://`` URLs.

Only hookimpls live here; ``redis`` is imported when a store or tier is created.
"""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_storage_backends(register: Register) -> None:
    register(
        "redis",
        "kaizen_redis.store:RedisCheckpointStore",
        aliases=["rediss"],
        description="Checkpoints in Redis (TTL option, key prefix, reconnect with backoff)",
    )


@hookimpl
def register_memory_tiers(register: Register) -> None:
    register(
        "redis",
        "kaizen_redis.tier:RedisMemoryTier",
        aliases=["rediss"],
        description="Memory tier on Redis with native TTL",
    )
