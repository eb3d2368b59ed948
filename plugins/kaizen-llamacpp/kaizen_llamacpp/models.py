"""One llama.cpp model instance per process and configuration, shared and serialised.

A ``llama_cpp.Llama`` object is not thread-safe and is expensive to load, so every
provider in the process shares one instance per (path, n_ctx, embedding) key, and
calls on one instance run one at a time. The guard is a semaphore (not a lock) so a
streamed generation may be advanced from different worker threads while it holds it.

llama.cpp's *extra CPU buffer types* (weights repacked for AMX and similar kernels) are
disabled by default: with llama-cpp-python 0.3.36 built natively on a CPU with AMX, the
first decode crashes the process (SIGSEGV in ``ggml_backend_amx_mul_mat``). Plain CPU
buffers use the AVX2/AVX-512 kernels. ``extra_buffers=True`` turns them back on.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kaizen_core.errors import PluginNotInstalledError, ProviderError

ModelKey = tuple[str, int, bool]

_MODELS: dict[ModelKey, SharedModel] = {}
_MODELS_LOCK = threading.Lock()


@dataclass
class SharedModel:
    """A loaded model and the guard that serialises its use."""

    llama: Any
    key: ModelKey
    guard: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(1))


def cached_model(key: ModelKey) -> SharedModel | None:
    """The loaded model for ``key``, or None (never blocks)."""
    return _MODELS.get(key)


def load_model(
    path: Path, *, n_ctx: int, embedding: bool, n_threads: int | None = None, extra_buffers: bool = False
) -> SharedModel:
    """Load (once) and return the shared model. Blocking: call from a worker thread."""
    key: ModelKey = (str(path), n_ctx, embedding)
    shared = _MODELS.get(key)
    if shared is not None:
        return shared
    with _MODELS_LOCK:
        shared = _MODELS.get(key)
        if shared is None:
            llama = _new_llama(path, n_ctx=n_ctx, embedding=embedding, n_threads=n_threads, extra_buffers=extra_buffers)
            shared = SharedModel(llama=llama, key=key)
            _MODELS[key] = shared
    return shared


@contextlib.contextmanager
def _model_params_without_extra_buffers(lowlevel: Any) -> Iterator[None]:
    """Make ``Llama()`` load weights without extra buffer types (it offers no argument for it).

    Only called under ``_MODELS_LOCK``; the original function is restored on exit.
    """
    original = lowlevel.llama_model_default_params
    if "use_extra_bufts" not in {name for name, _ in lowlevel.llama_model_params._fields_}:
        yield
        return

    def params() -> Any:
        value = original()
        value.use_extra_bufts = False
        return value

    lowlevel.llama_model_default_params = params
    try:
        yield
    finally:
        lowlevel.llama_model_default_params = original


def _new_llama(path: Path, *, n_ctx: int, embedding: bool, n_threads: int | None, extra_buffers: bool) -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise PluginNotInstalledError(
            f"llama-cpp-python is not importable: {exc}", hint="pip install kaizen-llamacpp (builds llama-cpp-python)"
        ) from exc
    options: dict[str, Any] = {"model_path": str(path), "n_ctx": n_ctx, "verbose": False}
    if n_threads is not None:
        options["n_threads"] = n_threads
    if embedding:
        # a chat model has no pooling of its own: mean-pool token vectors into one per text
        options.update(embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN)
    guard = contextlib.nullcontext() if extra_buffers else _model_params_without_extra_buffers(llama_cpp.llama_cpp)
    try:
        with guard:
            return llama_cpp.Llama(**options)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ProviderError(f"llama.cpp could not load the model {path.name}: {exc}", hint="check that the file is a valid GGUF model") from exc


def clear_models() -> None:
    """Forget every loaded model (tests; frees memory once callers drop references)."""
    with _MODELS_LOCK:
        for shared in _MODELS.values():
            close = getattr(shared.llama, "close", None)
            if close is not None:
                close()
        _MODELS.clear()
