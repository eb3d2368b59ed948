"""The original docs' Checkpoint System examples, run as written.

Each test copies one example (imports translated: ``kaizen.core.autonomy.state`` ->
``kaizen_core.state``, ``kaizen.core.autonomy.checkpoints`` -> ``kaizen_core.state``,
``kaizen.core.base_agent`` -> ``kaizen_core``, ``kaizen.agents.autonomous`` ->
``kaizen_core.agents.autonomous``; ``llm_provider="mock"``) and checks the documented
outcome. Names an example uses without defining them (``agent``, ``history``,
``current_state``...) are defined before it, marked "not in the example". Relative paths
("./checkpoints") land in the test's temporary directory.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.errors import ProviderError

pytestmark = pytest.mark.anyio

#: The documented id shape, ``research_agent_step_10_20231025_120000``, plus 8 random hex digits.
ID = r"_step_{step}_\d{{8}}_\d{{6}}_[0-9a-f]{{8}}"


def id_pattern(agent: str, step: int) -> re.Pattern[str]:
    return re.compile("^" + re.escape(agent) + ID.format(step=step) + "$")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


class QASignature(Signature):
    """Answer the question."""

    question: str = InputField(description="The question")
    answer: str = OutputField(description="The answer")


async def test_api_reference_checkpoint_system_state_manager(capsys: pytest.CaptureFixture[str]) -> None:
    """api-reference.md, "Checkpoint System" > "StateManager"."""
    from kaizen_core.hooks import HookManager

    hook_manager = HookManager()  # not in the example

    # --- the example ---------------------------------------------------------------------
    from kaizen_core.state import (
        AgentState,
        DatabaseStorage,  # noqa: F401 -- imported by the example
        FilesystemStorage,
        StateManager,
    )

    # Setup state manager with filesystem storage
    storage = FilesystemStorage(base_dir="./checkpoints")
    state_manager = StateManager(
        storage=storage,
        checkpoint_frequency=10,  # Every 10 steps
        checkpoint_interval=60.0,  # OR every 60 seconds
        retention_count=100,  # Keep last 100 checkpoints
        hook_manager=hook_manager,  # Optional hooks integration
    )

    # Create agent state
    agent_state = AgentState(
        agent_id="research_agent",
        step_number=0,
        status="running",
        conversation_history=[{"user": "Research AI ethics", "agent": "Starting research..."}],
        memory_contents={"topic": "AI ethics", "papers_reviewed": 3},
        budget_spent_usd=0.15,
        metadata={"session_id": "session_123"},
    )

    # Save checkpoint
    checkpoint_id = await state_manager.save_checkpoint(agent_state)
    print(f"Checkpoint saved: {checkpoint_id}")
    # Output: "Checkpoint saved: research_agent_step_10_20231025_120000"

    # Load specific checkpoint
    restored_state = await state_manager.load_checkpoint(checkpoint_id)

    # Resume from latest checkpoint
    latest_state = await state_manager.resume_from_latest("research_agent")

    # Fork checkpoint (create independent branch)
    forked_state = await state_manager.fork_from_checkpoint(checkpoint_id, new_agent_id="research_agent_fork1")
    # --- end of the example --------------------------------------------------------------

    assert checkpoint_id is not None and id_pattern("research_agent", 0).match(checkpoint_id)
    assert capsys.readouterr().out == f"Checkpoint saved: {checkpoint_id}\n"
    assert Path("checkpoints", "research_agent", checkpoint_id + ".ckpt").is_file()
    for state in (restored_state, latest_state):
        assert state is not None and state.checkpoint_id == checkpoint_id
        assert state.conversation_history == [{"user": "Research AI ethics", "agent": "Starting research..."}]
        assert state.memory_contents == {"topic": "AI ethics", "papers_reviewed": 3}
        assert state.budget_spent_usd == 0.15 and state.metadata == {"session_id": "session_123"}
    assert forked_state.agent_id == "research_agent_fork1"
    assert forked_state.parent_checkpoint_id == checkpoint_id
    assert id_pattern("research_agent_fork1", 0).match(forked_state.checkpoint_id)
    assert (await state_manager.resume_from_latest("research_agent_fork1")).memory_contents == {  # type: ignore[union-attr]
        "topic": "AI ethics",
        "papers_reviewed": 3,
    }


async def test_api_reference_checkpoint_system_storage_backends() -> None:
    """api-reference.md, "Checkpoint System" > "Storage Backends".

    ``DataFlow`` is a separate product of the original; its role here is played by the
    storage plugins, so ``DatabaseStorage(dataflow=db)`` takes anything with a
    ``database_url`` (a SQLite URL here; PostgreSQL in the kaizen-postgres tests).
    """

    class DataFlow:  # not in the example: a stand-in for the original's DataFlow object
        def __init__(self, database_url: str) -> None:
            self.database_url = database_url

    # --- the example (DataFlow URL: a SQLite file instead of a PostgreSQL server) ---------
    # 1. Filesystem Storage (default)
    from kaizen_core.state import FilesystemStorage

    storage = FilesystemStorage(
        base_dir="./checkpoints",
        compress=True,  # gzip compression
    )

    # 2. Database Storage (PostgreSQL/SQLite via DataFlow)
    from kaizen_core.state import DatabaseStorage

    db = DataFlow(database_url="sqlite:///kaizen.db")
    database = DatabaseStorage(dataflow=db)  # the example names both stores `storage`
    # --- end of the example --------------------------------------------------------------

    from kaizen_core.state import AgentState, SQLiteStorage, StateManager

    assert isinstance(database, SQLiteStorage)
    for store in (storage, database):
        manager = StateManager(storage=store)
        state = AgentState(agent_id="research_agent", step_number=3, custom_state={"papers": ["a" * 200] * 20})
        checkpoint_id = await manager.save_checkpoint(state)
        assert checkpoint_id is not None
        loaded = await manager.load_checkpoint(checkpoint_id)
        assert loaded.custom_state == state.custom_state and loaded.step_number == 3
        await manager.close()
    await database.close()
    (ckpt,) = Path("checkpoints", "research_agent").glob("*.ckpt")
    header, body = ckpt.read_bytes().split(b"\n", 1)
    assert b'"encoding":"gzip"' in header.replace(b" ", b"")
    from kaizen_core.state import codec

    payload = gzip.decompress(body)  # the file's gzip around the (already zlib-compressed) payload
    assert codec.decode(payload, str(ckpt))["state"]["custom_state"] == state.custom_state
    assert len(body) < 1000  # 4 KB of state, compressed


async def test_autonomy_overview_state_persistence_example() -> None:
    """autonomy-overview.md, "2. State Persistence (Checkpoint System)" > "Example"."""
    from kaizen_core.state import AgentState

    agent_state = AgentState(agent_id="agent_id", step_number=10, status="running")  # not in the example

    # --- the example ---------------------------------------------------------------------
    from kaizen_core.state import FilesystemStorage, StateManager

    storage = FilesystemStorage(base_dir="./checkpoints")
    state_manager = StateManager(
        storage=storage,
        checkpoint_frequency=10,  # Every 10 cycles
        retention_count=100,  # Keep last 100
    )

    # Auto-checkpointing during execution
    checkpoint_id = await state_manager.save_checkpoint(agent_state)

    # Resume from latest
    latest_state = await state_manager.resume_from_latest("agent_id")
    # --- end of the example --------------------------------------------------------------

    assert checkpoint_id is not None and id_pattern("agent_id", 10).match(checkpoint_id)
    assert latest_state is not None and latest_state.checkpoint_id == checkpoint_id
    assert latest_state.step_number == 10
    assert state_manager.should_checkpoint("agent_id", 20) and not state_manager.should_checkpoint("agent_id", 15)


async def _quick_reference_checkpoint_quick_start(agent: BaseAgent) -> dict[str, Any]:
    """quick-reference.md "2. Checkpoint System" > "Quick Start", as written, in a function
    that returns what it made (the example's variables)."""
    history = [{"role": "user", "content": "earlier question"}]  # not in the example
    context = {"dataset": "sales.csv"}  # not in the example
    current_state = agent.get_state()  # not in the example
    result = None

    # --- the example ---------------------------------------------------------------------
    from kaizen_core.state import (
        CheckpointManager,  # noqa: F401 -- imported by the example
        FilesystemStorage,
        StateManager,
    )

    # Initialize storage backend
    storage = FilesystemStorage(base_path="./agent_state")
    state_manager = StateManager(storage_backend=storage)

    # Create checkpoint before risky operation
    checkpoint_id = await state_manager.create_checkpoint(
        agent_id=agent.agent_id,
        description="Before data processing",
        state_data={"conversation": history, "context": context},
    )

    # Execute agent
    try:
        result = agent.run(question="Process data")
        await state_manager.save_state(current_state)
    except Exception:
        # Restore from checkpoint on failure
        restored_state = await state_manager.load_checkpoint(checkpoint_id)
        agent.restore_state(restored_state)
    # --- end of the example --------------------------------------------------------------
    return {"checkpoint_id": checkpoint_id, "state_manager": state_manager, "result": result}


async def test_quick_reference_checkpoint_system_quick_start_success() -> None:
    """quick-reference.md, "2. Checkpoint System - Persistent State Management" > "Quick Start": the run succeeds."""
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature(), agent_id="data_agent")
    made = await _quick_reference_checkpoint_quick_start(agent)

    checkpoint_id, manager = made["checkpoint_id"], made["state_manager"]
    assert id_pattern("data_agent", 0).match(checkpoint_id)
    assert isinstance(made["result"]["answer"], str)
    created = await manager.load_checkpoint(checkpoint_id)
    assert created.metadata == {"description": "Before data processing"}
    assert created.custom_state == {
        "conversation": [{"role": "user", "content": "earlier question"}],
        "context": {"dataset": "sales.csv"},
    }
    newest = await manager.resume_from_latest("data_agent")
    assert newest.checkpoint_id != checkpoint_id and newest.parent_checkpoint_id == checkpoint_id  # save_state
    assert agent.state is None  # nothing was restored


async def test_quick_reference_checkpoint_system_quick_start_restores_on_failure() -> None:
    """quick-reference.md, "2. Checkpoint System - Persistent State Management" > "Quick Start": the run
    fails (the model is down), the agent is restored from the checkpoint."""
    config = BaseAgentConfig(llm_provider="mock", provider_config={"script": [{"error": {"status": 400}}]})
    agent = BaseAgent(config, QASignature(), agent_id="data_agent")
    made = await _quick_reference_checkpoint_quick_start(agent)

    assert made["result"] is None
    restored = agent.state
    assert restored is not None and restored.checkpoint_id == made["checkpoint_id"]
    assert restored.custom_state["context"] == {"dataset": "sales.csv"}
    assert agent.get_state().custom_state == restored.custom_state
    assert len(await made["state_manager"].list_checkpoints("data_agent")) == 1  # save_state did not run
    with pytest.raises(ProviderError):  # the failure the example caught
        agent.run(question="Process data")


async def test_quick_reference_lifecycle_infrastructure_state_part() -> None:
    """quick-reference.md, "Lifecycle infrastructure" (``from kaizen.core.base_agent import BaseAgent``
    ... "2. State - Persistent checkpoints"), the hooks and state parts; the interrupt part is in
    tests/docs_examples/test_interrupts.py."""
    config = BaseAgentConfig(llm_provider="mock")  # not in the example
    signature = "question -> answer"  # not in the example

    # --- the example (its first two parts) -------------------------------------------------
    from kaizen_core import BaseAgent
    from kaizen_core.hooks.builtin import LoggingHook, MetricsHook
    from kaizen_core.interrupts import InterruptSignal  # noqa: F401 -- imported by the example
    from kaizen_core.state import FilesystemStorage, StateManager

    # Every BaseAgent has lifecycle infrastructure built-in
    agent = BaseAgent(config=config, signature=signature)

    # 1. Hooks - Event-driven monitoring
    agent._hook_manager.register_hook(LoggingHook(log_level="INFO"))
    agent._hook_manager.register_hook(MetricsHook())

    # 2. State - Persistent checkpoints
    storage = FilesystemStorage(base_path="./agent_state")
    state_manager = StateManager(storage_backend=storage)

    # Create checkpoint before risky operation
    checkpoint_id = await state_manager.create_checkpoint(agent_id=agent.agent_id, description="Before processing")

    # Execute agent
    result = agent.run(question="test")

    current_state = agent.get_state()  # not in the example
    # Save state
    await state_manager.save_state(current_state)
    # --- end of the example parts ------------------------------------------------------------

    assert id_pattern(agent.agent_id, 0).match(checkpoint_id or "")
    assert isinstance(result["answer"], str)
    saved = await state_manager.list_checkpoints(agent.agent_id)
    assert [m.checkpoint_id for m in saved][1:] == [checkpoint_id]
    assert (await state_manager.load_checkpoint(checkpoint_id)).metadata["description"] == "Before processing"


async def test_advanced_patterns_checkpoint_driven_long_running_processes(capsys: pytest.CaptureFixture[str]) -> None:
    """advanced-patterns.md, "Pattern 3: Checkpoint-Driven Long-Running Processes".

    ``PEVAgent`` (Planning Agents API) does not exist in kaizen_core yet: the stand-in
    below is a BaseAgent with the same call shape (``PEVAgent(llm_provider=..., model=...,
    ...)``, ``run(task=...)`` returning ``record_count``). Everything else is the example.
    The pipeline runs once fully, then is resumed from the checkpoint of its third step.
    """
    import asyncio

    class PEVAgent(BaseAgent):  # not in the example: stand-in for the original's PEVAgent
        def __init__(self, llm_provider: str, model: str, max_iterations: int, verification_strictness: str):
            super().__init__(BaseAgentConfig(llm_provider="mock", model=model), "task -> record_count: int")

    # --- the example (``llm_provider="openai"`` -> ``"mock"``) ------------------------------
    from kaizen_core.hooks import HookEvent, HookManager  # noqa: F401 -- imported by the example
    from kaizen_core.state import AgentState, FilesystemStorage, StateManager

    # 1. Setup state management
    storage = FilesystemStorage(base_dir="./checkpoints/etl_pipeline")
    state_manager = StateManager(
        storage=storage,
        checkpoint_frequency=5,  # Every 5 steps
        retention_count=50,
    )

    # 2. Define long-running workflow
    async def etl_pipeline(resume_from_checkpoint=None):  # type: ignore[no-untyped-def]
        """
        Multi-hour ETL pipeline with automatic checkpointing.
        """
        # Restore state or start fresh
        if resume_from_checkpoint:
            state = await state_manager.load_checkpoint(resume_from_checkpoint)
            current_step = state.step_number
            processed_records = state.custom_state.get("processed_records", 0)
            print(f"✓ Resumed from step {current_step}, {processed_records} records processed")
        else:
            current_step = 0
            processed_records = 0

        # Create PEV agent for iterative refinement
        agent = PEVAgent(llm_provider="mock", model="gpt-4", max_iterations=10, verification_strictness="strict")

        # Pipeline steps
        steps = [
            "Extract data from 10 sources",
            "Transform and validate 1M records",
            "Load into data warehouse",
            "Generate analytics reports",
            "Update dashboards",
        ]

        for i, step in enumerate(steps[current_step:], start=current_step):
            # Execute step
            result = agent.run(task=step)
            processed_records += result.get("record_count", 0)

            # Save checkpoint
            agent_state = AgentState(
                agent_id="etl_pipeline",
                step_number=i + 1,
                status="running",
                conversation_history=[],
                memory_contents={},
                budget_spent_usd=0.0,
                custom_state={"processed_records": processed_records, "last_step": step, "result": result},
            )
            checkpoint_id = await state_manager.save_checkpoint(agent_state)
            print(f"✓ Step {i + 1}/{len(steps)}: {step} (checkpoint: {checkpoint_id})")

        return {"total_records": processed_records, "status": "complete"}

    # Execute with fault tolerance
    try:
        result = await etl_pipeline()  # the example's asyncio.run(): this test already runs on a loop
    except KeyboardInterrupt:
        print("\n⚠️  Pipeline interrupted - progress saved")
        # Resume later with: etl_pipeline(resume_from_checkpoint="latest_id")
    # --- end of the example ------------------------------------------------------------------

    assert result["status"] == "complete" and isinstance(result["total_records"], int)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[0].startswith(
        "✓ Step 1/5: Extract data from 10 sources (checkpoint: etl_pipeline_"
    )
    metas = await state_manager.list_checkpoints("etl_pipeline")
    assert [m.step_number for m in metas] == [5, 4, 3, 2, 1]
    assert all(id_pattern("etl_pipeline", m.step_number).match(m.checkpoint_id) for m in metas)

    # Resume later with: etl_pipeline(resume_from_checkpoint=<the id of step 3>)
    step_3 = metas[2].checkpoint_id
    resumed = await etl_pipeline(resume_from_checkpoint=step_3)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ Resumed from step 3,") and [line[:12] for line in out[1:]] == [
        "✓ Step 4/5: ",
        "✓ Step 5/5: ",
    ]
    assert resumed["status"] == "complete"
    assert asyncio.iscoroutinefunction(etl_pipeline)


async def test_advanced_patterns_best_practices_real_infrastructure_checkpoint_restore() -> None:
    """advanced-patterns.md, "Best Practices" > "4. Test with Real Infrastructure" (``test_checkpoint_restore``)."""
    from kaizen_core.state import AgentState, FilesystemStorage, StateManager

    agent_state = AgentState(agent_id="research_agent", step_number=7)  # not in the example

    def create_agent() -> BaseAgent:  # not in the example
        return BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature(), agent_id="research_agent")

    # --- the example's test body -------------------------------------------------------------
    # Create real agent with real state manager
    storage = FilesystemStorage(base_dir="./test_checkpoints")
    state_manager = StateManager(storage=storage)

    # Save actual checkpoint
    checkpoint_id = await state_manager.save_checkpoint(agent_state)

    # Simulate crash + restart
    new_agent = create_agent()  # Fresh instance

    # Restore from real checkpoint file
    restored_state = await state_manager.load_checkpoint(checkpoint_id)
    assert restored_state.step_number == agent_state.step_number
    # --- end of the example ------------------------------------------------------------------

    new_agent.restore_state(restored_state)
    assert new_agent.get_state().step_number == 7 and new_agent.agent_id == "research_agent"
