"""Lazy exports (PEP 562) for a package ``__init__``: names whose module loads on first use.

    # mypkg/__init__.py
    from typing import TYPE_CHECKING
    from kaizen_core.lazy import lazy_exports

    __all__ = ["Client"]
    __getattr__, __dir__ = lazy_exports(globals(), {"Client": "mypkg.client"})

    if TYPE_CHECKING:  # type checkers and IDEs see the real names
        from mypkg.client import Client

``import mypkg`` then imports nothing of ``mypkg.client`` (nor what it imports, an SDK);
``mypkg.Client`` imports it once and caches the value in the package. This module imports
only the standard library: it is on ``import kaizen_core``'s path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    module_globals: dict[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``(__getattr__, __dir__)`` pair of a package exporting ``exports`` lazily.

    ``exports`` maps each exported name to ``"package.module"`` (the attribute of the same
    name) or ``"package.module:attribute"``. ``module_globals`` is the package's
    ``globals()``: a loaded value is stored there, so the next access is a plain lookup.
    An unknown name raises :class:`AttributeError` as a module without it would.
    ``__dir__`` lists ``__all__`` (when the package defines one) and the lazy names.
    """
    package = module_globals["__name__"]
    targets = {name: target.partition(":") for name, target in exports.items()}

    def __getattr__(name: str) -> Any:
        target = targets.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = target
        value = getattr(importlib.import_module(module), attribute or name)
        module_globals[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*module_globals.get("__all__", ()), *exports})

    return __getattr__, __dir__
