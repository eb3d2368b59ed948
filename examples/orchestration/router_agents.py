"""A router over a QA, a code and a data agent, runnable offline on the mock provider.

    python examples/orchestration/router_agents.py

Each task goes to the agent whose A2A capability card (its declared ``capability``, its
signature's instructions and fields) matches it best. Without an embedding provider the
router scores words with BM25 and says so (``scorer: lexical``); install
kaizen-sentence-transformers and the same code scores meaning (``scorer: semantic``).
The mock provider answers from each agent's script; swap ``provider=`` for a real
model (``llm_provider="openai"``...) and the agents answer for real.
"""

from __future__ import annotations

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.orchestration import Pipeline
from kaizen_core.providers.mock import MockProvider


class Answer(Signature):
    """Answer general knowledge questions."""

    question: str = InputField(description="The question")
    answer: str = OutputField(description="The answer")


class WriteCode(Signature):
    """Write Python code for a programming task."""

    task: str = InputField(description="What the code must do")
    code: str = OutputField(description="The code")


class AnalyzeData(Signature):
    """Analyze a dataset and describe the charts to draw."""

    data_description: str = InputField(description="What to analyze")
    analysis: str = OutputField(description="Findings")
    visualizations: list[str] = OutputField(description="Charts to draw")


def build() -> Pipeline:
    qa = BaseAgent(BaseAgentConfig(llm_provider="mock"), Answer(), agent_id="qa_agent",
                   provider=MockProvider(script=[{"answer": "Paris is the capital of France."}]))
    code = BaseAgent(BaseAgentConfig(llm_provider="mock"), WriteCode(), agent_id="code_agent",
                     provider=MockProvider(script=[{"code": "def endpoint():\n    return {'ok': True}"}]))
    data = BaseAgent(BaseAgentConfig(llm_provider="mock"), AnalyzeData(), agent_id="data_agent",
                     provider=MockProvider(script=[{"analysis": "Sales peak in Q4.", "visualizations": ["bar chart by quarter"]}]))
    qa.capability = "Question answering and general knowledge"
    code.capability = "Code generation and analysis"
    data.capability = "Data analysis and visualization"
    return Pipeline.router(agents=[qa, code, data], routing_strategy="semantic", fallback_agent=qa)


def main() -> None:
    router = build()
    for task in (
        "Analyze sales data and create visualization",
        "Generate Python code for an API endpoint",
        "What is the capital of France?",
    ):
        result = router.run(task=task)
        how = f"score {result['confidence_score']:.2f}" if result["matched"] else "no card matched: the fallback agent"
        print(f"{task!r} -> {result['selected_agent']} ({how}, scorer: {result['scorer']})")
        answer = {k: v for k, v in result.items() if k in ("answer", "code", "analysis", "visualizations")}
        print(f"    {answer}")
        print(f"    tokens used: {result['_meta']['usage']['total_tokens']}")


if __name__ == "__main__":
    main()
