"""The KaizenError hierarchy.

Every user-visible failure raised by Kaizen (core or first-party plugin) is a
`KaizenError` subclass carrying a stable ``code``. Codes never change meaning; messages
say what to do. Messages must never contain secrets: use :func:`redact` on anything that
may hold a URL password or an API key.

The codes and meanings of the original Kaizen documentation ("Error Codes Reference")
are the contract; codes after the documented ones in a family (AGENT_006..., EXEC_004...,
INTERRUPT_003, MEMORY_003) name concepts that table lacks. docs/errors.md is the user's
copy of this table.

==============  ===============================  ======================================
code            meaning                          class
==============  ===============================  ======================================
KAIZEN_001      framework initialization failed  PluginError
KAIZEN_002      invalid configuration            ConfigError
KAIZEN_003      required dependency missing      PluginNotInstalledError
AGENT_001       agent creation failed            AgentInitError
AGENT_002       invalid signature                SignatureError
AGENT_003       execution timeout                ExecutionTimeoutError (a ProviderError)
AGENT_004       model API error                  ProviderError
AGENT_005       convergence failed               ConvergenceError (``.result``)
AGENT_006       output validation failed         OutputValidationError (``.raw_output``)
AGENT_007       no LLM provider available        NoProviderError
HOOK_001        hook registration failed         HookError
HOOK_002        hook execution timeout           HookTimeoutError
HOOK_003        hook execution error             HookExecutionError
CHECKPOINT_001  checkpoint save failed           CheckpointSaveError
CHECKPOINT_002  checkpoint load failed           CheckpointLoadError, CheckpointNotFoundError,
                                                 CheckpointCorruptError
CHECKPOINT_003  storage backend unavailable      StorageError
INTERRUPT_001   interrupt handler error          InterruptHandlerError
INTERRUPT_002   graceful shutdown timeout        ShutdownTimeoutError
INTERRUPT_003   agent interrupted                AgentInterrupted
MEMORY_001      memory backend error             MemoryBackendError
MEMORY_002      tier promotion failed            TierPromotionError
MEMORY_003      invalid memory key or value      MemoryValueError
EXEC_001        invalid input format             InputValidationError
EXEC_002        workflow build failed            WorkflowBuildError
EXEC_003        runtime execution error          RuntimeExecutionError
EXEC_004        tool execution failed            ToolExecutionError
EXEC_005        permission denied                PermissionDeniedError
EXEC_006        budget exceeded                  BudgetExceededError
==============  ===============================  ======================================
"""

from __future__ import annotations

from typing import Any, ClassVar

from kaizen_core.redaction import redact

__all__ = [
    "ERROR_CODES",
    "AgentInitError",
    "AgentInterrupted",
    "BudgetExceededError",
    "CheckpointCorruptError",
    "CheckpointError",
    "CheckpointLoadError",
    "CheckpointNotFoundError",
    "CheckpointSaveError",
    "ConfigError",
    "ConvergenceError",
    "ExecutionTimeoutError",
    "HookError",
    "HookExecutionError",
    "HookTimeoutError",
    "InputValidationError",
    "InterruptHandlerError",
    "KaizenError",
    "MemoryBackendError",
    "MemoryValueError",
    "NoProviderError",
    "OutputValidationError",
    "PermissionDeniedError",
    "PluginError",
    "PluginNotInstalledError",
    "ProviderError",
    "RuntimeExecutionError",
    "ShutdownTimeoutError",
    "SignatureError",
    "StorageError",
    "TierPromotionError",
    "ToolExecutionError",
    "WorkflowBuildError",
    "redact",
]

#: code -> meaning. The documented codes carry the original documentation's wording.
ERROR_CODES: dict[str, str] = {
    "KAIZEN_001": "Framework initialization failed",
    "KAIZEN_002": "Invalid configuration provided",
    "KAIZEN_003": "Required dependency missing",
    "AGENT_001": "Agent creation failed",
    "AGENT_002": "Invalid signature provided",
    "AGENT_003": "Execution timeout",
    "AGENT_004": "Model API error",
    "AGENT_005": "Convergence failed",
    "AGENT_006": "Output validation failed after all retries",
    "AGENT_007": "No LLM provider available",
    "HOOK_001": "Hook registration failed",
    "HOOK_002": "Hook execution timeout",
    "HOOK_003": "Hook execution error",
    "CHECKPOINT_001": "Checkpoint save failed",
    "CHECKPOINT_002": "Checkpoint load failed",
    "CHECKPOINT_003": "Storage backend unavailable",
    "INTERRUPT_001": "Interrupt handler error",
    "INTERRUPT_002": "Graceful shutdown timeout",
    "INTERRUPT_003": "Agent interrupted",
    "MEMORY_001": "Memory backend error",
    "MEMORY_002": "Tier promotion failed",
    "MEMORY_003": "Invalid memory key or value",
    "EXEC_001": "Invalid input format",
    "EXEC_002": "Workflow build failed",
    "EXEC_003": "Runtime execution error",
    "EXEC_004": "Tool execution failed",
    "EXEC_005": "Permission denied",
    "EXEC_006": "Budget exceeded",
}

class KaizenError(Exception):
    """Base of every Kaizen error. ``code`` is stable; ``hint`` says what to do."""

    code: ClassVar[str] = "KAIZEN_001"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
        code: str | None = None,
    ) -> None:
        if code is not None:
            if code not in ERROR_CODES:
                raise ValueError(f"unknown Kaizen error code {code!r}")
            self.code = code  # type: ignore[misc]
        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        self.details: dict[str, Any] = details or {}
        text = f"[{self.code}] {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        super().__init__(text)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view (for CLIs, transports and logs)."""
        return {
            "code": self.code,
            "type": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
        }


# --- KAIZEN_* : framework and configuration -------------------------------------------------
class PluginError(KaizenError):
    """The framework could not initialise: a plugin failed to load or a name is registered twice."""

    code = "KAIZEN_001"


class ConfigError(KaizenError, ValueError):
    """An invalid configuration value (the field or option is named)."""

    code = "KAIZEN_002"


class PluginNotInstalledError(KaizenError, LookupError):
    """A selected name, URL scheme or dependency is not installed (the package to install is named)."""

    code = "KAIZEN_003"


# --- AGENT_* -------------------------------------------------------------------------------
class AgentInitError(KaizenError):
    """An agent could not be created."""

    code = "AGENT_001"


class SignatureError(KaizenError, TypeError):
    """A signature definition is invalid (raised when the class is created)."""

    code = "AGENT_002"


class ProviderError(KaizenError):
    """An LLM backend failed (HTTP error, unreachable). ``status`` when known."""

    code = "AGENT_004"

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.retryable = retryable


class ExecutionTimeoutError(ProviderError, TimeoutError):
    """A provider call ran past its timeout (the agent's ``timeout`` or the provider's own).

    A :class:`ProviderError` (so ``except ProviderError`` still sees every provider
    failure) and a builtin :class:`TimeoutError`, with its own code AGENT_003.
    """

    code = "AGENT_003"


class ConvergenceError(KaizenError):
    """An autonomous run ended without a valid answer (``max_cycles`` spent).

    ``result`` is the partial result dict: the tool calls made, usage and cost, and the
    checkpoint id to resume from.
    """

    code = "AGENT_005"

    def __init__(self, message: str, *, result: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.result: dict[str, Any] = result if result is not None else {}


class OutputValidationError(KaizenError):
    """The model never produced valid output; ``raw_output`` holds its last reply."""

    code = "AGENT_006"

    def __init__(self, message: str, *, raw_output: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.raw_output = raw_output


class NoProviderError(KaizenError):
    """No usable LLM provider: none installed, configured or reachable (says what to install or set)."""

    code = "AGENT_007"


# --- HOOK_* -------------------------------------------------------------------------------
class HookError(KaizenError):
    """A lifecycle hook could not be registered."""

    code = "HOOK_001"


class HookTimeoutError(KaizenError, TimeoutError):
    """A lifecycle hook ran past its timeout (reported in its ``HookResult``)."""

    code = "HOOK_002"


class HookExecutionError(KaizenError):
    """A lifecycle hook raised (reported in its ``HookResult``)."""

    code = "HOOK_003"


# --- CHECKPOINT_* -------------------------------------------------------------------------
class CheckpointError(KaizenError):
    """Base of the checkpoint errors (a bare one means the backend failed: CHECKPOINT_003)."""

    code = "CHECKPOINT_003"


class CheckpointSaveError(CheckpointError):
    """A checkpoint could not be saved for a reason other than the backend (e.g. state not encodable)."""

    code = "CHECKPOINT_001"


class CheckpointLoadError(CheckpointError):
    """A checkpoint could not be loaded: not found, corrupt, or not of the expected kind."""

    code = "CHECKPOINT_002"


class CheckpointNotFoundError(CheckpointLoadError, LookupError):
    """No checkpoint with that id."""

    code = "CHECKPOINT_002"


class CheckpointCorruptError(CheckpointLoadError):
    """A checkpoint is corrupt or truncated (its location is named)."""

    code = "CHECKPOINT_002"


class StorageError(CheckpointError):
    """A checkpoint backend failed or is unreachable (URL shown without password)."""

    code = "CHECKPOINT_003"


# --- INTERRUPT_* --------------------------------------------------------------------------
class InterruptHandlerError(KaizenError):
    """An interrupt handler or shutdown callback failed (logged; the others still run)."""

    code = "INTERRUPT_001"


class ShutdownTimeoutError(InterruptHandlerError, TimeoutError):
    """A shutdown callback did not finish within ``graceful_shutdown_timeout``."""

    code = "INTERRUPT_002"


class AgentInterrupted(KaizenError, InterruptedError):
    """An agent run stopped on an interrupt. ``reason`` is the InterruptReason.

    Subclasses the builtin ``InterruptedError``: ``except InterruptedError as e: e.reason``.
    """

    code = "INTERRUPT_003"

    def __init__(self, message: str, *, reason: Any = None, result: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reason = reason
        self.result = result


# --- MEMORY_* -----------------------------------------------------------------------------
class MemoryBackendError(KaizenError):
    """A memory tier failed or is unreachable (URL shown without password)."""

    code = "MEMORY_001"


class TierPromotionError(MemoryBackendError):
    """Copying a value up to a faster tier failed (a :class:`MemoryBackendError` too)."""

    code = "MEMORY_002"


class MemoryValueError(KaizenError, ValueError):
    """An invalid memory key, TTL, or a value that is not strict JSON."""

    code = "MEMORY_003"


# --- EXEC_* -------------------------------------------------------------------------------
class InputValidationError(KaizenError, ValueError):
    """Invalid input to an agent (the field is named) or a tool."""

    code = "EXEC_001"


class WorkflowBuildError(KaizenError):
    """A pipeline or workflow could not be built from its parts."""

    code = "EXEC_002"


class RuntimeExecutionError(KaizenError):
    """The runtime itself failed (not the model, a tool or a backend)."""

    code = "EXEC_003"


class ToolExecutionError(KaizenError):
    """A tool failed or timed out (returned to the model as a tool error)."""

    code = "EXEC_004"


class PermissionDeniedError(KaizenError, PermissionError):
    """A permission rule, mode or approval denied an action."""

    code = "EXEC_005"


class BudgetExceededError(PermissionDeniedError):
    """A budget ran out (a :class:`PermissionDeniedError` too, with its own code)."""

    code = "EXEC_006"
