"""Multi-agent orchestration: the nine Pipeline patterns, MetaController routing over A2A
capability cards, ConsensusPattern, SupervisorWorkerPattern and SemanticRouter.

    from kaizen_core.orchestration import Pipeline, MetaController
    pipeline = Pipeline.router(agents=[qa_agent, code_agent, data_agent], routing_strategy="semantic")

Names are imported on first use (PEP 562); see docs/orchestration.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaizen_core.lazy import lazy_exports

_LAZY: dict[str, str] = {
    "Pipeline": "kaizen_core.orchestration.pipeline",
    "PipelineAgent": "kaizen_core.orchestration.pipeline",
    "PipelineRun": "kaizen_core.orchestration.pipeline",
    "StepOutcome": "kaizen_core.orchestration.pipeline",
    "map_inputs": "kaizen_core.orchestration.pipeline",
    "Executor": "kaizen_core.orchestration.executors",
    "LocalExecutor": "kaizen_core.orchestration.executors",
    "ChildRun": "kaizen_core.orchestration.executors",
    "AgentSpec": "kaizen_core.orchestration.executors",
    "get_executor": "kaizen_core.orchestration.executors",
    "load_pipeline": "kaizen_core.orchestration.loader",
    "MetaController": "kaizen_core.orchestration.meta_controller",
    "CapabilityScorer": "kaizen_core.orchestration.scoring",
    "AgentScore": "kaizen_core.orchestration.scoring",
    "Ranking": "kaizen_core.orchestration.scoring",
    "card_text": "kaizen_core.orchestration.scoring",
    "Selector": "kaizen_core.orchestration.selection",
    "NoAgentMatchedError": "kaizen_core.orchestration.selection",
    "SemanticRouter": "kaizen_core.orchestration.router",
    "RouteMatch": "kaizen_core.orchestration.router",
    "SequentialPipeline": "kaizen_core.orchestration.patterns.sequential",
    "SupervisorWorkerPipeline": "kaizen_core.orchestration.patterns.supervisor_worker",
    "SupervisorWorkerPattern": "kaizen_core.orchestration.patterns.supervisor_worker",
    "RouterPipeline": "kaizen_core.orchestration.patterns.router",
    "EnsemblePipeline": "kaizen_core.orchestration.patterns.ensemble",
    "BlackboardPipeline": "kaizen_core.orchestration.patterns.blackboard",
    "ConsensusPipeline": "kaizen_core.orchestration.patterns.consensus",
    "ConsensusPattern": "kaizen_core.orchestration.patterns.consensus",
    "DebatePipeline": "kaizen_core.orchestration.patterns.debate",
    "HandoffPipeline": "kaizen_core.orchestration.patterns.handoff",
    "ParallelPipeline": "kaizen_core.orchestration.patterns.parallel",
}

__all__ = [
    "AgentScore",
    "AgentSpec",
    "ChildRun",
    "Executor",
    "LocalExecutor",
    "get_executor",
    "load_pipeline",
    "BlackboardPipeline",
    "CapabilityScorer",
    "ConsensusPattern",
    "ConsensusPipeline",
    "DebatePipeline",
    "EnsemblePipeline",
    "HandoffPipeline",
    "MetaController",
    "NoAgentMatchedError",
    "ParallelPipeline",
    "Pipeline",
    "PipelineAgent",
    "PipelineRun",
    "Ranking",
    "RouteMatch",
    "RouterPipeline",
    "Selector",
    "SemanticRouter",
    "SequentialPipeline",
    "StepOutcome",
    "SupervisorWorkerPattern",
    "SupervisorWorkerPipeline",
    "card_text",
    "map_inputs",
]

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_core.orchestration.executors import AgentSpec, ChildRun, Executor, LocalExecutor, get_executor
    from kaizen_core.orchestration.loader import load_pipeline
    from kaizen_core.orchestration.meta_controller import MetaController
    from kaizen_core.orchestration.patterns.blackboard import BlackboardPipeline
    from kaizen_core.orchestration.patterns.consensus import ConsensusPattern, ConsensusPipeline
    from kaizen_core.orchestration.patterns.debate import DebatePipeline
    from kaizen_core.orchestration.patterns.ensemble import EnsemblePipeline
    from kaizen_core.orchestration.patterns.handoff import HandoffPipeline
    from kaizen_core.orchestration.patterns.parallel import ParallelPipeline
    from kaizen_core.orchestration.patterns.router import RouterPipeline
    from kaizen_core.orchestration.patterns.sequential import SequentialPipeline
    from kaizen_core.orchestration.patterns.supervisor_worker import SupervisorWorkerPattern, SupervisorWorkerPipeline
    from kaizen_core.orchestration.pipeline import Pipeline, PipelineAgent, PipelineRun, StepOutcome, map_inputs
    from kaizen_core.orchestration.router import RouteMatch, SemanticRouter
    from kaizen_core.orchestration.scoring import AgentScore, CapabilityScorer, Ranking, card_text
    from kaizen_core.orchestration.selection import NoAgentMatchedError, Selector


__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
