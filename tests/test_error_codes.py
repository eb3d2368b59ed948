"""The error-code table is the contract: every documented code means what the original
documentation says, each code has one class, and docs/errors.md lists exactly these codes."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import errors
from kaizen_core.errors import (
    ERROR_CODES,
    CheckpointNotFoundError,
    CheckpointSaveError,
    KaizenError,
    MemoryBackendError,
    TierPromotionError,
)
from kaizen_core.memory import TierManager, TierManagerConfig
from kaizen_core.memory.hot import HotMemoryTier
from kaizen_core.state import AgentState, StateManager

#: The "Error Codes Reference" table of the original Kaizen documentation, verbatim.
DOCUMENTED = {
    "KAIZEN_001": "Framework initialization failed",
    "KAIZEN_002": "Invalid configuration provided",
    "KAIZEN_003": "Required dependency missing",
    "AGENT_001": "Agent creation failed",
    "AGENT_002": "Invalid signature provided",
    "AGENT_003": "Execution timeout",
    "AGENT_004": "Model API error",
    "AGENT_005": "Convergence failed",
    "HOOK_001": "Hook registration failed",
    "HOOK_002": "Hook execution timeout",
    "HOOK_003": "Hook execution error",
    "CHECKPOINT_001": "Checkpoint save failed",
    "CHECKPOINT_002": "Checkpoint load failed",
    "CHECKPOINT_003": "Storage backend unavailable",
    "INTERRUPT_001": "Interrupt handler error",
    "INTERRUPT_002": "Graceful shutdown timeout",
    "MEMORY_001": "Memory backend error",
    "MEMORY_002": "Tier promotion failed",
    "EXEC_001": "Invalid input format",
    "EXEC_002": "Workflow build failed",
    "EXEC_003": "Runtime execution error",
}

#: The class users catch for each code (codes past the documented ones are ours).
CLASS_FOR_CODE = {
    "KAIZEN_001": "PluginError",
    "KAIZEN_002": "ConfigError",
    "KAIZEN_003": "PluginNotInstalledError",
    "AGENT_001": "AgentInitError",
    "AGENT_002": "SignatureError",
    "AGENT_003": "ExecutionTimeoutError",
    "AGENT_004": "ProviderError",
    "AGENT_005": "ConvergenceError",
    "AGENT_006": "OutputValidationError",
    "AGENT_007": "NoProviderError",
    "HOOK_001": "HookError",
    "HOOK_002": "HookTimeoutError",
    "HOOK_003": "HookExecutionError",
    "CHECKPOINT_001": "CheckpointSaveError",
    "CHECKPOINT_002": "CheckpointLoadError",
    "CHECKPOINT_003": "StorageError",
    "INTERRUPT_001": "InterruptHandlerError",
    "INTERRUPT_002": "ShutdownTimeoutError",
    "INTERRUPT_003": "AgentInterrupted",
    "MEMORY_001": "MemoryBackendError",
    "MEMORY_002": "TierPromotionError",
    "MEMORY_003": "MemoryValueError",
    "EXEC_001": "InputValidationError",
    "EXEC_002": "WorkflowBuildError",
    "EXEC_003": "RuntimeExecutionError",
    "EXEC_004": "ToolExecutionError",
    "EXEC_005": "PermissionDeniedError",
    "EXEC_006": "BudgetExceededError",
}


def _error_classes() -> list[type[KaizenError]]:
    return [
        cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, KaizenError) and cls is not KaizenError
    ]


@pytest.mark.parametrize("code", sorted(DOCUMENTED))
def test_every_documented_code_has_its_documented_meaning(code: str) -> None:
    assert ERROR_CODES[code] == DOCUMENTED[code]
    cls = getattr(errors, CLASS_FOR_CODE[code])
    assert cls.code == code
    assert cls("x").code == code and str(cls("x")).startswith(f"[{code}] ")


def test_every_code_has_a_class_and_every_class_a_known_code() -> None:
    assert set(CLASS_FOR_CODE) == set(ERROR_CODES)
    for code, name in CLASS_FOR_CODE.items():
        assert getattr(errors, name).code == code, name
    for cls in _error_classes():
        assert cls.code in ERROR_CODES, cls
        assert cls.__name__ in errors.__all__, cls


def test_new_codes_extend_their_family() -> None:
    for code in set(ERROR_CODES) - set(DOCUMENTED):
        family, number = code.rsplit("_", 1)
        documented = [int(c.rsplit("_", 1)[1]) for c in DOCUMENTED if c.startswith(family + "_")]
        assert documented and int(number) > max(documented), code


def test_broad_except_clauses_still_catch_the_specific_errors() -> None:
    assert issubclass(errors.ExecutionTimeoutError, errors.ProviderError)
    assert issubclass(errors.ExecutionTimeoutError, TimeoutError)
    assert issubclass(errors.BudgetExceededError, errors.PermissionDeniedError)
    assert issubclass(errors.TierPromotionError, errors.MemoryBackendError)
    assert issubclass(errors.ShutdownTimeoutError, errors.InterruptHandlerError)
    assert issubclass(errors.AgentInterrupted, InterruptedError)
    for cls in (errors.CheckpointNotFoundError, errors.CheckpointCorruptError):
        assert issubclass(cls, errors.CheckpointLoadError) and cls.code == "CHECKPOINT_002"


def test_an_unknown_explicit_code_is_refused() -> None:
    with pytest.raises(ValueError, match="AGENT_099"):
        KaizenError("x", code="AGENT_099")


def test_convergence_error_carries_the_partial_result() -> None:
    partial = {"result": None, "tool_calls": [{"name": "get_weather"}], "checkpoint_id": "abc"}
    error = errors.ConvergenceError("no answer after 10 cycles", result=partial)
    assert error.code == "AGENT_005" and error.result is partial
    assert errors.ConvergenceError("no answer").result == {}


def test_docs_errors_md_lists_every_code_with_its_class() -> None:
    text = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    rows = dict(re.findall(r"^\| ([A-Z]+_\d{3}) \| ([^|]+) \|", text, re.MULTILINE))
    assert {code: meaning.strip() for code, meaning in rows.items()} == ERROR_CODES
    for code, name in CLASS_FOR_CODE.items():
        assert re.search(rf"^\| {code} \|[^|]+\| [^|]*`{name}`", text, re.MULTILINE), code


def test_errors_module_docstring_lists_every_code() -> None:
    doc = errors.__doc__ or ""
    listed = re.findall(r"^([A-Z]+_\d{3}) ", doc, re.MULTILINE)
    assert listed == list(ERROR_CODES)


# -- codes raised through the public API -------------------------------------------------
@pytest.mark.anyio
async def test_missing_checkpoint_is_load_failed(tmp_path: Path) -> None:
    manager = StateManager(f"file://{tmp_path}")
    with pytest.raises(CheckpointNotFoundError) as info:
        await manager.load_checkpoint("0" * 32)
    assert info.value.code == "CHECKPOINT_002"


@pytest.mark.anyio
async def test_unserializable_state_is_save_failed_and_keeps_ids(tmp_path: Path) -> None:
    manager = StateManager(f"file://{tmp_path}")
    state = AgentState(agent_id="a", custom_state={"handle": object()})
    before = state.checkpoint_id
    with pytest.raises(CheckpointSaveError) as info:
        await manager.save_checkpoint(state)
    assert info.value.code == "CHECKPOINT_001" and "JSON" in info.value.message
    assert state.checkpoint_id == before
    assert await manager.list_checkpoints("a") == []


class _HotTierDown(HotMemoryTier):
    """A hot tier whose writes fail (as a remote hot tier does when its server goes away)."""

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        raise MemoryBackendError("hot tier unreachable")


@pytest.mark.anyio
async def test_failed_promotion_is_tier_promotion_failed(tmp_path: Path) -> None:
    warm = HotMemoryTier("warm")
    await warm.put("k", {"v": 1})
    manager = TierManager(_HotTierDown("hot"), warm, config=TierManagerConfig(promotion_threshold=2))
    assert await manager.get("k") == {"v": 1}  # one read: not promoted yet
    with pytest.raises(TierPromotionError) as info:
        await manager.get("k")
    assert info.value.code == "MEMORY_002" and "hot tier unreachable" in info.value.message
    assert isinstance(info.value.__cause__, MemoryBackendError)
