"""The KaizenError hierarchy.

Every user-visible failure raised by Kaizen (core or first-party plugin) is a
`KaizenError` subclass carrying a stable ``code`` from the table below. Codes never
change meaning; messages say what to do. Messages must never contain secrets: use
:func:`redact` on anything that may hold a URL password or an API key.

=============  =========================================================
code           meaning
=============  =========================================================
KAIZEN_001     plugin system failure (load error, duplicate registration)
KAIZEN_002     invalid configuration (bad value, unknown provider)
KAIZEN_003     a named plugin/capability is not installed
AGENT_001      agent could not be initialised
AGENT_002      invalid signature definition
AGENT_003      no usable LLM provider (nothing installed / configured)
AGENT_004      LLM provider API error (HTTP error, unreachable endpoint)
AGENT_005      model output failed validation after all retries
HOOK_001       invalid lifecycle hook registration
HOOK_002       lifecycle hook raised an exception
HOOK_003       lifecycle hook timed out
CHECKPOINT_001 checkpoint not found
CHECKPOINT_002 checkpoint corrupt or unreadable
CHECKPOINT_003 checkpoint storage backend failure / unreachable
INTERRUPT_001  agent run interrupted
INTERRUPT_002  interrupt handler failure
MEMORY_001     memory backend failure / unreachable
MEMORY_002     invalid memory key or value
EXEC_001       invalid input to an agent or tool
EXEC_002       tool execution failed
EXEC_003       permission denied or budget exhausted
=============  =========================================================
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
    "CheckpointNotFoundError",
    "ConfigError",
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
    "SignatureError",
    "StorageError",
    "ToolExecutionError",
    "redact",
]

ERROR_CODES: dict[str, str] = {
    "KAIZEN_001": "plugin system failure",
    "KAIZEN_002": "invalid configuration",
    "KAIZEN_003": "plugin or capability not installed",
    "AGENT_001": "agent initialisation failed",
    "AGENT_002": "invalid signature definition",
    "AGENT_003": "no usable LLM provider",
    "AGENT_004": "LLM provider API error",
    "AGENT_005": "model output failed validation",
    "HOOK_001": "invalid hook registration",
    "HOOK_002": "hook raised an exception",
    "HOOK_003": "hook timed out",
    "CHECKPOINT_001": "checkpoint not found",
    "CHECKPOINT_002": "checkpoint corrupt",
    "CHECKPOINT_003": "checkpoint storage failure",
    "INTERRUPT_001": "agent interrupted",
    "INTERRUPT_002": "interrupt handler failure",
    "MEMORY_001": "memory backend failure",
    "MEMORY_002": "invalid memory key or value",
    "EXEC_001": "invalid input",
    "EXEC_002": "tool execution failed",
    "EXEC_003": "permission denied or budget exhausted",
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
    code = "KAIZEN_001"


class ConfigError(KaizenError, ValueError):
    code = "KAIZEN_002"


class PluginNotInstalledError(KaizenError, LookupError):
    code = "KAIZEN_003"


# --- AGENT_* -------------------------------------------------------------------------------
class AgentInitError(KaizenError):
    code = "AGENT_001"


class SignatureError(KaizenError, TypeError):
    code = "AGENT_002"


class NoProviderError(KaizenError):
    code = "AGENT_003"


class ProviderError(KaizenError):
    """An LLM backend failed (HTTP error, timeout, unreachable). ``status`` when known."""

    code = "AGENT_004"

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.retryable = retryable


class OutputValidationError(KaizenError):
    """The model never produced valid output; ``raw_output`` holds its last reply."""

    code = "AGENT_005"

    def __init__(self, message: str, *, raw_output: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.raw_output = raw_output


# --- HOOK_* -------------------------------------------------------------------------------
class HookError(KaizenError):
    code = "HOOK_001"


class HookExecutionError(KaizenError):
    code = "HOOK_002"


class HookTimeoutError(KaizenError):
    code = "HOOK_003"


# --- CHECKPOINT_* -------------------------------------------------------------------------
class CheckpointError(KaizenError):
    code = "CHECKPOINT_003"


class CheckpointNotFoundError(CheckpointError, LookupError):
    code = "CHECKPOINT_001"


class CheckpointCorruptError(CheckpointError):
    code = "CHECKPOINT_002"


class StorageError(CheckpointError):
    """A checkpoint backend failed or is unreachable (URL shown without password)."""

    code = "CHECKPOINT_003"


# --- INTERRUPT_* --------------------------------------------------------------------------
class AgentInterrupted(KaizenError, InterruptedError):
    """An agent run stopped on an interrupt. ``reason`` is the InterruptReason.

    Subclasses the builtin ``InterruptedError``: ``except InterruptedError as e: e.reason``.
    """

    code = "INTERRUPT_001"

    def __init__(self, message: str, *, reason: Any = None, result: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reason = reason
        self.result = result


class InterruptHandlerError(KaizenError):
    code = "INTERRUPT_002"


# --- MEMORY_* -----------------------------------------------------------------------------
class MemoryBackendError(KaizenError):
    code = "MEMORY_001"


class MemoryValueError(KaizenError, ValueError):
    code = "MEMORY_002"


# --- EXEC_* -------------------------------------------------------------------------------
class InputValidationError(KaizenError, ValueError):
    code = "EXEC_001"


class ToolExecutionError(KaizenError):
    code = "EXEC_002"


class PermissionDeniedError(KaizenError, PermissionError):
    code = "EXEC_003"


class BudgetExceededError(PermissionDeniedError):
    code = "EXEC_003"
