"""kaizen-ray: run Kaizen child runs (pipeline fan-outs, ``agent.run_many`` batches) on Ray.

    pipeline = Pipeline.parallel(agents, max_workers=50, executor="ray://10.0.0.1:6379")

Importing this package does not import Ray; the pool starts on the first child.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["RayExecutor"]

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_ray.executor import RayExecutor


def __getattr__(name: str) -> Any:
    if name == "RayExecutor":
        from kaizen_ray.executor import RayExecutor

        return RayExecutor
    raise AttributeError(f"module 'kaizen_ray' has no attribute {name!r}")
