"""Real all-MiniLM-L6-v2 embeddings and semantic search through LongTermMemory."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from kaizen_core import plugins
from kaizen_core.memory import LongTermMemory

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def provider():  # type: ignore[no-untyped-def]
    plugins.reset()
    cls = plugins.get_registry().load("provider", "sentence-transformers")
    return cls()


def test_plugin_import_does_not_load_torch() -> None:
    code = (
        "import sys, kaizen_sentence_transformers, kaizen_core.plugins as p;"
        "p.get_registry().load('provider', 'sentence-transformers');"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False False"


async def test_real_embeddings_have_384_unit_dimensions(provider) -> None:  # type: ignore[no-untyped-def]
    result = await provider.embed(["The cat sat on the mat.", "A feline rested on the rug.", "Stock prices fell."])
    assert result.dimensions == 384 and len(result.vectors) == 3
    for vector in result.vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-3)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    cat, feline, stocks = result.vectors
    assert cos(cat, feline) > cos(cat, stocks) + 0.2


async def test_semantic_search_through_long_term_memory(tmp_path: Path, provider) -> None:  # type: ignore[no-untyped-def]
    memory = LongTermMemory(f"sqlite://{tmp_path}/m.db", agent_id="bot", embedding_provider=provider)
    await memory.aadd("The user's cat is called Miso")
    await memory.aadd("Deployments happen every Friday afternoon")
    await memory.aadd("The user prefers answers in French")
    (best,) = await memory.asearch_similar("what is the name of my pet?", limit=1)
    assert best.content == "The user's cat is called Miso"
    language = await memory.asearch_similar("which language should replies be written in", limit=3, min_similarity=0.3)
    assert language and language[0].content == "The user prefers answers in French"
    # keyword search shares no word with the query: semantic search is doing the work
    assert await memory.asearch("pet name") == []
    await memory.aclose()


async def test_provider_by_name_in_long_term_memory(tmp_path: Path) -> None:
    plugins.reset()
    memory = LongTermMemory(f"sqlite://{tmp_path}/n.db", agent_id="bot", embedding_provider="sentence-transformers")
    await memory.aadd("Release notes are published on the wiki")
    await memory.aadd("The office coffee machine is on the third floor")
    first, second = await memory.asearch_similar("where can I find the changelog?", limit=2)
    assert first.content == "Release notes are published on the wiki"
    assert (first.score or 0) > (second.score or 0)
    await memory.aclose()


async def test_installed_plugin_is_the_default_for_search_and_routing(tmp_path: Path) -> None:
    from kaizen_core.orchestration import SemanticRouter
    from kaizen_sentence_transformers.provider import SentenceTransformersProvider

    plugins.reset()
    memory = LongTermMemory(f"sqlite://{tmp_path}/d.db", agent_id="bot")  # no provider given
    await memory.aadd("The user's dog is called Rex")
    await memory.aadd("Invoices are sent on the first of the month")
    (best,) = await memory.asearch_similar("what is my pet called?", limit=1)
    assert best.content == "The user's dog is called Rex"
    assert isinstance(memory.embedding_provider, SentenceTransformersProvider)
    await memory.aclose()

    router = SemanticRouter(
        {"billing": ["I was charged twice", "please refund my payment"], "tech": ["the app crashes on start"]}
    )
    assert (await router.route("why did you bill my card two times?")).name == "billing"
    assert (await router.route("it freezes and closes when I open it")).name == "tech"
    assert isinstance(router.provider, SentenceTransformersProvider)


def test_unknown_option_is_a_config_error() -> None:
    from kaizen_core.errors import ConfigError
    from kaizen_sentence_transformers.provider import SentenceTransformersProvider

    with pytest.raises(ConfigError, match=r"unknown option.*colour") as info:
        SentenceTransformersProvider(colour="blue")
    assert info.value.code == "KAIZEN_002"
    assert "batch_size" in (info.value.hint or "")
