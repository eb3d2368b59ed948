"""kaizen-ray: run Kaizen child runs (pipeline fan-outs, ``agent.run_many`` batches) on Ray.

    pipeline = Pipeline.parallel(agents, max_workers=50, executor="ray://10.0.0.1:6379")

Importing this package does not import Ray; the pool starts on the first child.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaizen_core.lazy import lazy_exports

__all__ = ["RayExecutor"]

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_ray.executor import RayExecutor

__getattr__, __dir__ = lazy_exports(globals(), {"RayExecutor": "kaizen_ray.executor"})
