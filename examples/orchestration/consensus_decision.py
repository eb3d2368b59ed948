"""A consensus decision among three reviewers, runnable offline on the mock provider.

    python examples/orchestration/consensus_decision.py

Three agents with different outlooks vote on one question; two of three must agree
(``threshold=0.67``, shares are compared at two decimals). Each vote is the agent's
``decision`` output; with ``voting_strategy="weighted"`` its ``confidence`` would weigh
it. When no option reaches the threshold, another round runs and agents with a
``context`` input see the earlier votes.
"""

from __future__ import annotations

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.orchestration import Pipeline
from kaizen_core.providers.mock import MockProvider


class Review(Signature):
    """Review the proposal and decide: approve or reject."""

    task: str = InputField(description="The proposal")
    context: str = InputField(description="The situation and earlier votes", default="")
    decision: str = OutputField(description="approve or reject")
    reason: str = OutputField(description="Why")
    confidence: float = OutputField(description="0..1")


def reviewer(name: str, decision: str, reason: str, confidence: float) -> BaseAgent:
    provider = MockProvider(script=[{"decision": decision, "reason": reason, "confidence": confidence}])
    return BaseAgent(BaseAgentConfig(llm_provider="mock"), Review(), provider=provider, agent_id=name)


def main() -> None:
    panel = [
        reviewer("conservative", "reject", "The migration risks the Q4 freeze.", 0.7),
        reviewer("innovative", "approve", "Services let the teams ship independently.", 0.9),
        reviewer("balanced", "Approve.", "Worth it if done one service at a time.", 0.8),
    ]
    consensus = Pipeline.consensus(agents=panel, threshold=0.67, voting_strategy="majority", max_rounds=3)
    result = consensus.run(
        task="Should we migrate to a microservices architecture?",
        context={"current_system": "monolith", "team_size": 15},
    )
    print(f"consensus reached: {result['consensus_achieved']} after {result['rounds']} round(s)")
    print(f"final decision: {result['final_decision']} (share {result['confidence_score']:.0%})")
    for vote in result["votes"]:
        print(f"    {vote['agent']:<13} {vote['vote']:<8} confidence {vote['confidence']}")
    print(f"model calls: {result['_meta']['provider_calls']}")


if __name__ == "__main__":
    main()
