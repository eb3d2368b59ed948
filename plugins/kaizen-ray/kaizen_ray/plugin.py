"""kaizen-ray's registrations: the ``ray`` executor (``executor="ray"`` or ``"ray://host:port"``)."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_executors(register: Register) -> None:
    register("ray", "kaizen_ray.executor:RayExecutor", description="Child runs on a pool of Ray async actors")
