"""kaizen-core's own built-ins, registered through the same hooks as any plugin.

Every target is a lazy ``"module:attr"`` string: nothing here is imported until an
agent selects it by name or URL scheme.
"""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl

_TOOLS = {
    # danger levels and categories live on the Tool objects themselves
    "read_file": "kaizen_core.tools.builtin.files:read_file",
    "file_exists": "kaizen_core.tools.builtin.files:file_exists",
    "list_directory": "kaizen_core.tools.builtin.files:list_directory",
    "write_file": "kaizen_core.tools.builtin.files:write_file",
    "delete_file": "kaizen_core.tools.builtin.files:delete_file",
    "http_get": "kaizen_core.tools.builtin.http:http_get",
    "http_post": "kaizen_core.tools.builtin.http:http_post",
    "http_put": "kaizen_core.tools.builtin.http:http_put",
    "http_delete": "kaizen_core.tools.builtin.http:http_delete",
    "bash_command": "kaizen_core.tools.builtin.shell:bash_command",
    "fetch_url": "kaizen_core.tools.builtin.web:fetch_url",
    "extract_links": "kaizen_core.tools.builtin.web:extract_links",
}


@hookimpl
def register_providers(register: Register) -> None:
    register(
        "mock",
        "kaizen_core.providers.mock:MockProvider",
        description="Deterministic, schema-aware, scriptable provider for tests",
        capabilities=["chat", "stream", "tools", "embed"],
        detect_priority=None,
    )


@hookimpl
def register_storage_backends(register: Register) -> None:
    register("file", "kaizen_core.state.filesystem:FilesystemStorage", description="Checkpoint files (atomic, optional gzip)")
    register("sqlite", "kaizen_core.state.sqlite:SQLiteStorage", description="Checkpoints in a SQLite database (WAL)")


@hookimpl
def register_memory_tiers(register: Register) -> None:
    register("memory", "kaizen_core.memory.hot:HotMemoryTier", description="Hot in-process tier (LRU/LFU/FIFO, TTL)")
    register("sqlite", "kaizen_core.memory.warm:WarmMemoryTier", description="Warm SQLite tier (WAL, TTL, compression)")
    register("file", "kaizen_core.memory.file:FileMemoryTier", description="Append-only JSONL memory file (audit trail)")


@hookimpl
def register_interrupt_handlers(register: Register) -> None:
    register("timeout", "kaizen_core.interrupts.handlers:TimeoutInterruptHandler")
    register("budget", "kaizen_core.interrupts.handlers:BudgetInterruptHandler")
    register("resource", "kaizen_core.interrupts.handlers:ResourceInterruptHandler")


@hookimpl
def register_tools(register: Register) -> None:
    for name, target in _TOOLS.items():
        register(name, target)


@hookimpl
def register_transports(register: Register) -> None:
    register("memory", "kaizen_core.control.transports:InMemoryTransport", description="In-process queues (tests, embedding)")
    register("stdio", "kaizen_core.control.transports:StdioTransport", description="JSON lines over stdin/stdout")
    register("cli", "kaizen_core.control.transports:CLITransport", description="Interactive terminal prompts")


_PATTERNS = {
    # name: (module, class, description)
    "sequential": ("sequential", "SequentialPipeline", "Each agent works on the previous agent's outputs"),
    "supervisor_worker": ("supervisor_worker", "SupervisorWorkerPipeline", "Subtasks go to the best-matching workers"),
    "router": ("router", "RouterPipeline", "The task goes to the agent whose capability card matches best"),
    "ensemble": ("ensemble", "EnsemblePipeline", "Top-k matching agents answer, a synthesizer combines"),
    "blackboard": ("blackboard", "BlackboardPipeline", "Specialists add to a shared board until the controller is done"),
    "consensus": ("consensus", "ConsensusPipeline", "Agents vote in rounds until enough agree"),
    "debate": ("debate", "DebatePipeline", "Proponent and opponent argue, a judge rules once"),
    "handoff": ("handoff", "HandoffPipeline", "Tiers in order, escalating on failure or low confidence"),
    "parallel": ("parallel", "ParallelPipeline", "Every agent on the same inputs, concurrently"),
}


@hookimpl
def register_patterns(register: Register) -> None:
    for name, (module, cls, description) in _PATTERNS.items():
        aliases = ["supervisor"] if name == "supervisor_worker" else []
        register(name, f"kaizen_core.orchestration.patterns.{module}:{cls}", description=description, aliases=aliases)


@hookimpl
def register_lifecycle_hooks(register: Register) -> None:
    register("logging", "kaizen_core.hooks.builtin:LoggingHook", description="Structured JSON-lines logging")
    register("metrics", "kaizen_core.hooks.builtin:MetricsHook", description="Counters and latency percentiles")
    register("cost", "kaizen_core.hooks.builtin:CostTrackingHook", description="Token and USD cost per run")
    register("profiler", "kaizen_core.hooks.builtin:PerformanceProfilerHook", description="Time spent per phase")
    register("audit", "kaizen_core.hooks.builtin:AuditHook", description="Tamper-evident hash-chained JSONL audit trail")
    register("json_logs", "kaizen_core.hooks.builtin:JsonLogsHook", description="Structured JSON logs, one per operation")


@hookimpl
def register_executors(register: Register) -> None:
    register("local", "kaizen_core.orchestration.executors:LocalExecutor", description="Child runs on the caller's event loop")
