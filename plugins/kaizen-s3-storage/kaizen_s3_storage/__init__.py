"""kaizen-s3-storage: checkpoints and a cold memory tier on S3 (``s3://bucket/prefix``).

Only hookimpls live here; ``boto3`` is imported when a store or tier is created.
"""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_storage_backends(register: Register) -> None:
    register(
        "s3",
        "kaizen_s3_storage.store:S3CheckpointStore",
        description="Checkpoints as gzip objects in S3 or an S3-compatible service (endpoint_url)",
    )


@hookimpl
def register_memory_tiers(register: Register) -> None:
    register(
        "s3",
        "kaizen_s3_storage.tier:S3MemoryTier",
        description="Cold (archival) memory tier on S3",
    )
