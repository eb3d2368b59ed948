"""RAGResearchAgent: retrieve the most relevant documents, answer from them, cite them.

    agent = RAGResearchAgent(RAGConfig(llm_provider="openai", top_k=3), documents=[
        {"title": "Kaizen", "content": "Kaizen is a Python agent framework..."},
        "Plain strings work too.",
    ])
    result = agent.research("What is Kaizen?")
    result["answer"]      # "Kaizen is a Python agent framework [1]."
    result["sources"]     # the retrieved documents: [{"id", "title", "content", "score"}, ...] (numbered from 1)
    result["citations"]   # the sources the answer cites

Retrieval is a :class:`~kaizen_core.memory.LongTermMemory` search: pass ``knowledge_base=``
a LongTermMemory of your own (its store and ranking: keyword search, or meaning for a
``SemanticMemory``), or ``documents=`` a list, which the agent adds to an in-process
LongTermMemory (``memory://``) on first use; :meth:`add_document` adds more. Only the
``top_k`` best documents reach the model, each clipped to ``max_source_chars``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from kaizen_core.agents.results import RunResult
from kaizen_core.agents.specialized._common import SpecializedAgent, ask_phase, start_conversation
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import ConfigError
from kaizen_core.signatures import InputField, OutputField, Signature

if TYPE_CHECKING:
    from kaizen_core.agents.run import AgentRun
    from kaizen_core.memory import LongTermMemory

__all__ = ["RAGConfig", "RAGResearchAgent", "RAGSignature", "RAGStrategy"]


class RAGConfig(BaseAgentConfig):
    """Configuration of :class:`RAGResearchAgent`."""

    top_k: int = Field(3, gt=0, description="Documents retrieved per question")
    max_source_chars: int = Field(2000, gt=0, description="Characters of each document shown to the model")
    temperature: float | None = Field(0.1, ge=0.0, le=2.0)


class RAGSignature(Signature):
    """Research the query using the retrieved sources; answer from them and cite them."""

    query: str = InputField(description="The research question")
    answer: str = OutputField(description="The answer, citing sources as [n]")
    sources: list[dict[str, Any]] = OutputField(description="The retrieved documents, numbered from 1")
    citations: list[dict[str, Any]] = OutputField(description="The sources the answer cites")
    confidence: float = OutputField(description="Confidence in the answer, from 0 to 1")


class _Answer(Signature):
    """Answer the query using only the numbered sources. Cite each source you use as [n]. If the sources do not
    contain the answer, say so."""

    query: str = InputField(description="The question")
    sources: list[str] = InputField(description="The sources, as '[n] title: text'")
    answer: str = OutputField(description="The answer with [n] citations")
    cited: list[int] = OutputField(description="Numbers of the sources used")
    confidence: float = OutputField(description="Confidence in the answer, from 0 to 1")


class RAGStrategy:
    """RETRIEVE (memory search) -> ANSWER (one call) -> citations."""

    name = "rag_research"

    async def execute(self, run: AgentRun) -> dict[str, Any]:
        agent: RAGResearchAgent = run.agent  # type: ignore[assignment]
        cfg: RAGConfig = run.config  # type: ignore[assignment]
        query = run.inputs["query"]
        memory = await agent.knowledge()
        entries = await memory.asearch(query, limit=cfg.top_k)
        sources = []
        for number, entry in enumerate(entries, start=1):
            text = entry.content if isinstance(entry.content, str) else str(entry.content)
            sources.append(
                {
                    "number": number,
                    "id": entry.id,
                    "title": entry.metadata.get("title", f"source {number}"),
                    "content": text[: cfg.max_source_chars],
                    "score": entry.score,
                    **{k: v for k, v in entry.metadata.items() if k != "title"},
                }
            )
        start_conversation(run, RAGSignature.instructions())
        shown = [f"[{s['number']}] {s['title']}: {s['content']}" for s in sources]
        replied = await ask_phase(run, _Answer, query=query, sources=shown)
        cited = sorted({n for n in replied["cited"] if 1 <= n <= len(sources)})
        return {
            "answer": replied["answer"],
            "sources": sources,
            "citations": [sources[n - 1] for n in cited],
            "confidence": replied["confidence"],
        }


class RAGResearchAgent(SpecializedAgent):
    """Retrieval-augmented research: ``answer``, ``sources``, ``citations``, ``confidence``."""

    config_class: ClassVar[type[BaseAgentConfig]] = RAGConfig
    signature_class = RAGSignature

    def __init__(
        self,
        config: Any = None,
        signature: Any = None,
        provider: Any = None,
        *,
        documents: list[str | dict[str, Any]] | None = None,
        knowledge_base: LongTermMemory | None = None,
        **kwargs: Any,
    ) -> None:
        if documents is not None and knowledge_base is not None:
            raise ConfigError(
                "pass documents= or knowledge_base=, not both", hint="add documents to the knowledge base"
            )
        super().__init__(config, signature, provider, **kwargs)
        self._knowledge = knowledge_base
        self._pending: list[str | dict[str, Any]] = list(documents or [])

    def default_strategy(self) -> RAGStrategy:
        return RAGStrategy()

    async def knowledge(self) -> LongTermMemory:
        """The LongTermMemory searched (made in process from ``documents`` when none was given)."""
        if self._knowledge is None:
            from kaizen_core.memory import LongTermMemory

            self._knowledge = LongTermMemory("memory://", agent_id=f"{self.agent_id}-documents")
        pending, self._pending = self._pending, []
        for document in pending:
            await self._add(self._knowledge, document)
        return self._knowledge

    @staticmethod
    async def _add(memory: LongTermMemory, document: str | dict[str, Any]) -> None:
        if isinstance(document, str):
            await memory.aadd(document, tags=["document"])
            return
        if "content" not in document:
            raise ConfigError("a document dict needs a 'content' key", details={"keys": sorted(document)})
        metadata = {k: v for k, v in document.items() if k != "content"}
        await memory.aadd(str(document["content"]), tags=["document"], metadata=metadata)

    def add_document(self, content: str, title: str | None = None, **metadata: Any) -> None:
        """Add a document to what the agent searches (taken into the knowledge base at the next run)."""
        self._pending.append({"content": content, **({"title": title} if title else {}), **metadata})

    def research(self, query: str, session_id: str | None = None) -> RunResult:
        """Retrieve, answer and cite (same as ``run(query=...)``)."""
        return self.run(query=query, session_id=session_id)

    async def research_async(self, query: str, session_id: str | None = None) -> dict[str, Any]:
        """Awaitable :meth:`research`."""
        return await self.run_async(query=query, session_id=session_id)
