"""The ``kaizen`` command (Click + Rich, both imported only when the command runs).

    kaizen plugins [--json]                      installed plugins and what they register
    kaizen run agent.toml --input question=...   run an agent described in TOML (live view on stderr)
    kaizen storage migrate URL                   create/upgrade a storage backend's schema
    kaizen audit verify FILE                     check an audit trail's hash chain
    kaizen version                               the installed version

Exit codes (docs/cli.md): 0 done, 1 error, 2 usage, 3 convergence failure (AGENT_005),
128+signum when a signal interrupted the run (130 Ctrl+C, 143 SIGTERM).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kaizen_core.errors import AgentInterrupted, ConfigError, ConvergenceError, KaizenError

#: Exit code of a run that ended without a valid answer (ConvergenceError, AGENT_005).
EXIT_CONVERGENCE = 3
EXIT_USAGE = 2


def _parse_input(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--input {item!r} must look like name=value")
    try:
        value = json.loads(raw)
        if not isinstance(value, list | dict | int | float | bool):
            value = raw
    except json.JSONDecodeError:
        value = raw
    return key, value


def _read_inputs_json(source: str) -> dict[str, Any]:
    """The object in file ``source`` (``-``: stdin) given to ``--inputs-json``."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise ConfigError(f"--inputs-json: cannot read {source!r}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--inputs-json: {source!r} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"--inputs-json: {source!r} must hold a JSON object of input fields")
    return data


def cmd_plugins(as_json: bool) -> int:
    from kaizen_core.plugins import get_registry

    data = get_registry().describe()
    if as_json:
        print(json.dumps(data, indent=2))
        return 0
    for plugin in data["plugins"]:
        print(f"{plugin['distribution']} {plugin['version']} (plugin {plugin['name']})")
        for kind, names in plugin["registered"].items():
            aliases = plugin.get("aliases", {}).get(kind, {})
            shown = [
                f"{n} (alias {', '.join(a for a, t in aliases.items() if t == n)})" if n in aliases.values() else n
                for n in names
            ]
            print(f"  {kind}: {', '.join(shown)}")
    return 0


def cmd_run(
    file: str,
    inputs: dict[str, Any],
    *,
    as_json: bool,
    quiet: bool,
    resume: str | None = None,
    resume_latest: bool = False,
    stream: bool = False,
) -> int:
    """Run the agent of ``file``: live view on stderr, result on stdout (table on a terminal, else JSON).

    ``resume`` / ``resume_latest`` continue an interrupted autonomous run from a checkpoint
    instead of starting one; an interrupt prints where the checkpoint is and how to resume.
    """
    from rich.console import Console

    from kaizen_core.agent_loader import load_agent
    from kaizen_core.cli_view import RunView, result_table

    agent = load_agent(file)
    err = Console(stderr=True, highlight=False)
    view = None if quiet else RunView(err)
    if view is not None:
        view.attach(agent)
    _connect_terminal_approvals(agent, err)
    if stream:
        _stream_to_stderr(agent)
    autonomous = hasattr(agent, "run_autonomous_sync")
    if (resume or resume_latest) and not autonomous:
        raise ConfigError(f"--resume: {file!r} is not an autonomous agent", hint='set type = "autonomous" in [agent]')
    try:
        if resume:
            result = agent.resume_from_checkpoint_sync(resume)
        elif resume_latest:
            result = agent.resume_from_latest_sync()
        elif autonomous and "task" in inputs:
            result = agent.run_autonomous_sync(inputs.pop("task"))
        else:
            result = agent.run(**inputs)
    except AgentInterrupted as exc:
        _print_resume_hint(file, agent, exc, err)
        raise
    if view is not None:
        view.summary(result)
    if as_json or not sys.stdout.isatty():
        print(json.dumps(result, indent=2, default=str))
    else:
        Console().print(result_table(result))
    return 0


def _stream_to_stderr(agent: Any) -> None:
    """``--stream``: the provider streams, and each text piece goes to stderr as it arrives."""
    agent.config.stream = True

    def show(event: Any) -> None:
        if event.type == "text" and event.text:
            sys.stderr.write(event.text)
            sys.stderr.flush()
        elif event.type == "done":
            sys.stderr.write("\n")
            sys.stderr.flush()

    agent.stream_listener = show


def _print_resume_hint(file: str, agent: Any, exc: AgentInterrupted, err: Any) -> None:
    """After an interrupt: where the checkpoint is and the exact command that resumes the run."""
    import shlex

    checkpoint = (exc.result or {}).get("checkpoint_id")
    storage = getattr(agent.config, "checkpoint_storage", None)
    if not checkpoint:
        err.print(f"interrupted: no checkpoint was saved (checkpoint_storage = {storage!r})", markup=False)
        return
    err.print(f"interrupted: checkpoint {checkpoint} of agent {agent.agent_id} saved in {storage}", markup=False)
    err.print(
        f"resume with: kaizen run {shlex.quote(file)} --resume {shlex.quote(str(checkpoint))}",
        markup=False,
        soft_wrap=True,
    )


def _connect_terminal_approvals(agent: Any, err: Any) -> None:
    """Approvals and questions go to the terminal (CLI transport); without one they are denied."""
    if agent.control_protocol is not None:
        return
    if not sys.stdin.isatty():
        if getattr(agent, "tools", None):
            err.print("stdin is not a terminal: tool calls that need approval will be denied", style="dim")
        return
    from kaizen_core.control import ControlProtocol
    from kaizen_core.control.transports import CLITransport

    agent.control_protocol = ControlProtocol(CLITransport(input=sys.stdin, output=sys.stderr))


def cmd_storage_migrate(url: str) -> int:
    from kaizen_core._sync import run_sync
    from kaizen_core.state.urls import open_store

    async def migrate() -> str:
        store = open_store(url)
        try:
            method = getattr(store, "migrate", None)
            if method is None:
                return "nothing to migrate"
            result = await method()
            return str(result) if result is not None else "migrated"
        finally:
            await store.close()

    print(run_sync(migrate))
    return 0


CHAT_COMMANDS = "/history  the session's messages   /reset  forget the session   /exit  leave (also Ctrl+D)"


def cmd_chat(file: str, session: str | None) -> int:
    """A REPL over the agent of ``file``; each line is one run in session ``session``, remembered by its memory."""
    import uuid

    from rich.console import Console
    from rich.markup import escape

    from kaizen_core.agent_loader import load_agent

    agent = load_agent(file)
    memory = agent.memory
    if memory is None or not hasattr(memory, "get_history"):
        raise ConfigError(
            f"{file!r}: the agent has no conversation memory to chat with",
            hint='set max_turns = 10 and memory_storage = "sqlite:///./.kaizen/memory.db" in [agent]',
        )
    inputs = list(agent.signature.input_fields())
    if len(inputs) != 1:
        raise ConfigError(f"{file!r}: kaizen chat needs a signature with one input field, got {inputs}")
    outputs = list(agent.signature.output_fields())
    session_id = session or f"chat-{uuid.uuid4().hex[:8]}"
    out = Console(highlight=False)
    persisted = agent.config.memory_storage
    out.print(
        f"session {escape(session_id)}"
        + (f" (memory in {escape(persisted)})" if persisted else " (not persisted: memory_storage is not set)")
    )
    out.print(f"[dim]continue later with: kaizen chat {escape(file)} --session {escape(session_id)}[/dim]")
    out.print(f"[dim]{CHAT_COMMANDS}[/dim]")
    try:
        while True:
            try:
                line = input("you> ").strip()
            except EOFError:
                break
            if not line:
                continue
            if line == "/exit":
                break
            if line == "/reset":
                memory.clear(session_id, stored=True)
                out.print("[dim]session forgotten[/dim]")
                continue
            if line == "/history":
                history = memory.get_history(session_id=session_id)
                for message in history:
                    out.print(f"{escape(message.role)}: {escape(message.content or '')}", soft_wrap=True)
                out.print(f"[dim]{len(history)} messages[/dim]")
                continue
            if line.startswith("/"):
                out.print(f"unknown command {escape(line)}; {CHAT_COMMANDS}")
                continue
            result = agent.run(session_id=session_id, **{inputs[0]: line})
            reply = result[outputs[0]] if len(outputs) == 1 else {k: result[k] for k in outputs}
            out.print(
                f"agent> {escape(reply if isinstance(reply, str) else json.dumps(reply, default=str))}", soft_wrap=True
            )
    finally:
        agent.close()
    return 0


#: How to make a provider whose local check failed usable (a provider not listed gets its description).
_DETECT_FIXES = {
    "ollama": "start Ollama (`ollama serve`, listens on localhost:11434) or set OLLAMA_HOST",
    "docker": "enable Docker Model Runner with TCP access (`docker desktop enable model-runner --tcp 12434`)",
    "google": "export GOOGLE_API_KEY=... (or GEMINI_API_KEY=...)",
    "llamacpp": "pip install llama-cpp-python, and reinstall kaizen-llamacpp (it ships the bundled model)",
}


class DoctorCheck:
    """One line of ``kaizen doctor``: what was checked, whether it is fine, and the fix if not."""

    def __init__(self, section: str, name: str, ok: bool, detail: str, fix: str = "") -> None:
        self.section, self.name, self.ok, self.detail, self.fix = section, name, ok, detail, fix

    def as_dict(self) -> dict[str, Any]:
        return {"section": self.section, "name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def _provider_checks() -> list[DoctorCheck]:
    """Each registered provider: usable now or not, by the same env/detect rules auto-detection uses.

    Only the names of the key variables are shown, never their values; the local checks are
    the providers' own ``detect`` callables (a TCP connect to their localhost port, a file lookup).
    """
    import os

    from kaizen_core.plugins import KNOWN_PACKAGES, get_registry, resolve_target

    registry = get_registry()
    checks = []
    for reg in registry.entries("provider"):
        env = list(reg.options.get("env") or [])
        missing = [var for var in env if not os.environ.get(var)]
        detect = reg.options.get("detect")
        if missing:
            fix = "export " + " ".join(f"{var}=..." for var in missing)
            checks.append(DoctorCheck("provider", reg.name, False, f"{', '.join(missing)} not set", fix))
            continue
        if detect is not None:
            try:
                found = bool(resolve_target(detect)())
            except KaizenError as exc:
                found, why = False, exc.message
            else:
                why = f"not detected ({reg.description})"
            if not found:
                checks.append(
                    DoctorCheck("provider", reg.name, False, why, _DETECT_FIXES.get(reg.name, reg.description))
                )
                continue
        how = f"{', '.join(env)} set" if env else (f"detected ({reg.description})" if detect else "always available")
        if reg.options.get("detect_priority") is None and not env and detect is None:
            how += " (not auto-detected: set llm_provider)"
        checks.append(DoctorCheck("provider", reg.name, True, how))
    for (kind, name), package in sorted(KNOWN_PACKAGES.items()):
        if kind == "provider" and registry.find("provider", name) is None and package not in {c.detail for c in checks}:
            checks.append(DoctorCheck("provider", name, False, f"{package} is not installed", f"pip install {package}"))
    return checks


def _storage_check(url: str) -> DoctorCheck:
    """Open the store at ``url`` and list its agents (the cheapest real round trip)."""
    from kaizen_core._sync import run_sync
    from kaizen_core.state.urls import open_store

    async def probe() -> int:
        store = open_store(url)
        try:
            return len(await store.list_agents())
        finally:
            await store.close()

    from kaizen_core.redaction import redact
    from kaizen_core.urls import safe_url

    shown = safe_url(url)  # a URL's password must not reach the terminal or a CI log
    try:
        count = run_sync(probe)
    except KaizenError as exc:
        return DoctorCheck(
            "storage", shown, False, exc.message, exc.hint or "check the URL and that the server is running"
        )
    except OSError as exc:
        return DoctorCheck("storage", shown, False, redact(str(exc)), "check the URL and that the server is running")
    return DoctorCheck("storage", shown, True, f"reachable ({count} agents with checkpoints)")


def cmd_doctor(storage_urls: Sequence[str], as_json: bool) -> int:
    """Installed plugins, usable providers, reachable stores, and the fix for each problem."""
    from kaizen_core.plugins import get_registry

    checks = [
        DoctorCheck("plugin", p["distribution"], True, f"{p['version']} (plugin {p['name']})")
        for p in get_registry().describe()["plugins"]
    ]
    checks += _provider_checks()
    checks += [_storage_check(url) for url in storage_urls]
    if as_json:
        print(json.dumps([c.as_dict() for c in checks], indent=2))
        return 0
    from rich.console import Console
    from rich.markup import escape

    out = Console(highlight=False)
    titles = {"plugin": "Installed plugins", "provider": "Providers", "storage": "Storage"}
    for section, title in titles.items():
        rows = [c for c in checks if c.section == section]
        if not rows:
            continue
        out.print(f"[bold]{title}[/bold]")
        for c in rows:
            mark = "[green]ok[/green]  " if c.ok else "[red]no[/red]  "
            out.print(f"  {mark}{escape(c.name)}: {escape(c.detail)}", soft_wrap=True)
            if c.fix:
                out.print(f"        fix: {escape(c.fix)}", soft_wrap=True)
    usable = [c.name for c in checks if c.section == "provider" and c.ok]
    out.print(f"usable providers now: {', '.join(usable) or 'none'}")
    return 0


#: Where ``kaizen checkpoints`` looks when no ``--storage`` is given (AutonomousConfig's default).
DEFAULT_CHECKPOINT_STORAGE = "file://./.kaizen/checkpoints"


def _with_state_manager(storage: str, action: Any) -> Any:
    """Run ``await action(manager)`` over a StateManager on ``storage`` (no retention: the CLI never prunes implicitly)."""
    from kaizen_core._sync import run_sync
    from kaizen_core.state import StateManager

    async def go() -> Any:
        async with StateManager(storage, retention_count=None) as manager:
            return await action(manager)

    return run_sync(go)


def _when(created_at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")


def cmd_checkpoints_list(agent_id: str, storage: str, as_json: bool) -> int:
    from kaizen_core.state import StateManager

    async def action(manager: StateManager) -> list[Any]:
        return await manager.list_checkpoints(agent_id)

    metas = _with_state_manager(storage, action)
    if as_json:
        print(json.dumps([m.model_dump(mode="json") for m in metas], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{agent_id} ({storage})")
    # the id column is never cut, so an id can be copied into show/fork/delete
    table.add_column("checkpoint", no_wrap=True, min_width=max((len(m.checkpoint_id) for m in metas), default=10))
    for column in ("step", "status", "kind", "size", "created (UTC)"):
        table.add_column(column)
    for m in metas:
        table.add_row(m.checkpoint_id, str(m.step_number), m.status, m.kind, str(m.size_bytes), _when(m.created_at))
    Console(highlight=False).print(table if metas else f"no checkpoints for agent {agent_id!r} in {storage}")
    return 0


def cmd_checkpoints_show(checkpoint_id: str, storage: str) -> int:
    from kaizen_core.state import StateManager

    async def action(manager: StateManager) -> tuple[Any, Any]:
        state = await manager.load_checkpoint(checkpoint_id)
        metas = await manager.list_checkpoints(state.agent_id)
        return state, next((m for m in metas if m.checkpoint_id == checkpoint_id), None)

    state, meta = _with_state_manager(storage, action)
    last = next((m.get("content") for m in reversed(state.conversation_history) if m.get("content")), "")
    rows = {
        "checkpoint": state.checkpoint_id,
        "agent": state.agent_id,
        "status": state.status,
        "step": state.step_number,
        "size": f"{meta.size_bytes} bytes ({meta.kind})" if meta is not None else "?",
        "parent": state.parent_checkpoint_id or "-",
        "created": state.created_at.isoformat(),
        "messages": len(state.conversation_history),
        "tool calls": f"{len(state.completed_tool_calls)} completed, {len(state.pending_tool_calls)} pending",
        "spent": f"${state.budget_spent_usd:.4f}",
        "last message": str(last)[:200],
    }
    for key, value in rows.items():
        print(f"{key:>13}: {value}")
    return 0


def cmd_checkpoints_tree(agent_id: str, storage: str) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.tree import Tree

    from kaizen_core.state import StateManager

    async def action(manager: StateManager) -> dict[str, Any]:
        return await manager.get_checkpoint_tree(agent_id)

    data = _with_state_manager(storage, action)
    nodes = data["nodes"]
    root = Tree(f"[bold]{escape(agent_id)}[/bold] ({data['count']} checkpoints)")

    def add(branch: Tree, cid: str) -> None:
        node = nodes[cid]
        child = branch.add(f"{escape(cid)}  [dim]step {node['step_number']} {escape(str(node['status']))}[/dim]")
        for sub in node["children"]:
            add(child, sub)

    for cid in data["roots"]:
        add(root, cid)
    Console(highlight=False).print(root)
    return 0


def cmd_checkpoints_fork(checkpoint_id: str, storage: str, new_agent_id: str | None) -> int:
    from kaizen_core.state import StateManager

    async def action(manager: StateManager) -> Any:
        return await manager.fork_from_checkpoint(checkpoint_id, new_agent_id)

    state = _with_state_manager(storage, action)
    print(f"forked {checkpoint_id} as {state.checkpoint_id} (agent {state.agent_id})")
    return 0


def cmd_checkpoints_delete(checkpoint_id: str, storage: str) -> int:
    from kaizen_core.errors import CheckpointNotFoundError
    from kaizen_core.state import StateManager

    async def action(manager: StateManager) -> bool:
        return await manager.delete_checkpoint(checkpoint_id)

    if not _with_state_manager(storage, action):
        raise CheckpointNotFoundError(f"no checkpoint {checkpoint_id!r} in {storage}")
    print(f"deleted {checkpoint_id}")
    return 0


def cmd_checkpoints_prune(agent_id: str, storage: str, keep: int) -> int:
    from kaizen_core.state import StateManager

    async def action(manager: StateManager) -> list[str]:
        return await manager.prune_checkpoints(agent_id, keep)

    deleted = _with_state_manager(storage, action)
    for cid in deleted:
        print(f"deleted {cid}")
    print(f"kept the {keep} newest checkpoints of {agent_id}, deleted {len(deleted)}")
    return 0


def cmd_audit_verify(
    file: str, expect_head: str | None, expect_records: int | None, key_env: str | None, as_json: bool
) -> int:
    """Verify the hash chain of ``file``; 0 when intact, 1 with the first bad line named."""
    import os

    from kaizen_core.audit import verify_chain

    key = None
    if key_env is not None:
        key = os.environ.get(key_env)
        if not key:
            raise ConfigError(f"--key-env {key_env}: the environment variable is not set")
    result = verify_chain(file, key=key, expect_head=expect_head, expect_records=expect_records)
    if as_json:
        print(json.dumps(result.model_dump(), indent=2))
    elif result.ok:
        print(f"{result.message} (head {result.head})")
    else:
        print(f"{file}: {result.message}", file=sys.stderr)
    return 0 if result.ok else 1


def _version() -> str:
    from kaizen_core import __version__

    return __version__


def build_cli() -> Any:
    """The Click command group (Click is imported here, not when ``kaizen_core`` is)."""
    import click

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    def cli() -> None:
        """Kaizen agent framework.

        \b
        Example:
          kaizen run agent.toml --input question="Capital of France?"
        """

    @cli.command()
    @click.option("--json", "as_json", is_flag=True, help="machine-readable output")
    def plugins(as_json: bool) -> int:
        """List installed plugins and what they register.

        \b
        Example:
          kaizen plugins --json
        """
        return cmd_plugins(as_json)

    @cli.command()
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--input", "-i", "items", multiple=True, metavar="NAME=VALUE", help="an input field (repeatable)")
    @click.option("--inputs-json", metavar="FILE|-", help="input fields as a JSON object, from a file or stdin (-)")
    @click.option("--json", "as_json", is_flag=True, help="only the result, as JSON, on stdout")
    @click.option("--quiet", "-q", is_flag=True, help="no live view on stderr")
    @click.option("--resume", metavar="CHECKPOINT_ID", help="continue an interrupted run from this checkpoint")
    @click.option("--resume-latest", is_flag=True, help="continue this agent's newest checkpoint")
    @click.option("--stream", is_flag=True, help="print the model's tokens on stderr as they arrive")
    def run(
        file: str,
        items: tuple[str, ...],
        inputs_json: str | None,
        as_json: bool,
        quiet: bool,
        resume: str | None,
        resume_latest: bool,
        stream: bool,
    ) -> int:
        """Run an agent described in a TOML file.

        The live view (cycles, tool calls, cost) goes to stderr; the result to stdout, as a
        table on a terminal and as JSON otherwise or with --json.

        Ctrl+C (or SIGTERM) stops the run at the next safe point, saves a checkpoint and
        prints the command that resumes it; no completed tool call runs again.

        \b
        Example:
          kaizen run agent.toml -i question="Capital of France?" --json
          kaizen run agent.toml --resume-latest
        """
        if resume and resume_latest:
            raise click.UsageError("give --resume CHECKPOINT_ID or --resume-latest, not both")
        inputs = _read_inputs_json(inputs_json) if inputs_json else {}
        inputs.update(dict(_parse_input(item) for item in items))
        return cmd_run(
            file, inputs, as_json=as_json, quiet=quiet, resume=resume, resume_latest=resume_latest, stream=stream
        )

    @cli.group()
    def storage() -> None:
        """Storage backend maintenance."""

    @storage.command()
    @click.argument("url")
    def migrate(url: str) -> int:
        """Create or upgrade a backend's schema.

        \b
        Example:
          kaizen storage migrate sqlite:///./kaizen.db
        """
        return cmd_storage_migrate(url)

    @cli.command()
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--session", metavar="ID", help="continue this session (default: a new one)")
    def chat(file: str, session: str | None) -> int:
        """Chat with an agent; the session's history is kept in its memory store.

        Commands: /history, /reset, /exit. The same --session later continues the
        conversation (set memory_storage in the TOML so it outlives the process).

        \b
        Example:
          kaizen chat assistant.toml --session alice
        """
        return cmd_chat(file, session)

    @cli.command()
    @click.option("--storage", "storage_urls", multiple=True, metavar="URL", help="also check this store (repeatable)")
    @click.option("--json", "as_json", is_flag=True, help="machine-readable output")
    def doctor(storage_urls: tuple[str, ...], as_json: bool) -> int:
        """What is installed, which providers are usable now, which stores answer, and how to fix the rest.

        \b
        Example:
          kaizen doctor --storage sqlite:///./kaizen.db --storage redis://localhost:6379/0
        """
        return cmd_doctor(storage_urls, as_json)

    storage_help = f"checkpoint store URL [default: {DEFAULT_CHECKPOINT_STORAGE}]"

    def storage_option(fn: Any) -> Any:
        return click.option("--storage", "storage", metavar="URL", default=None, help=storage_help)(fn)

    def store_url(sub: str | None) -> str:
        group: str | None = (click.get_current_context().obj or {}).get("storage")
        return sub or group or DEFAULT_CHECKPOINT_STORAGE

    @cli.group()
    @storage_option
    @click.pass_context
    def checkpoints(ctx: Any, storage: str | None) -> None:
        """Look at, fork and clean up saved checkpoints.

        \b
        Example:
          kaizen checkpoints list my-agent --storage file://./ckpt
        """
        ctx.obj = {"storage": storage}

    @checkpoints.command("list")
    @click.argument("agent_id")
    @storage_option
    @click.option("--json", "as_json", is_flag=True, help="machine-readable output")
    def checkpoints_list(agent_id: str, storage: str | None, as_json: bool) -> int:
        """List an agent's checkpoints, newest first.

        \b
        Example:
          kaizen checkpoints list my-agent --storage file://./ckpt
        """
        return cmd_checkpoints_list(agent_id, store_url(storage), as_json)

    @checkpoints.command("show")
    @click.argument("checkpoint_id")
    @storage_option
    def checkpoints_show(checkpoint_id: str, storage: str | None) -> int:
        """Status, step, size, parent and a summary of one checkpoint's state.

        \b
        Example:
          kaizen checkpoints show my-agent_step_3_20260101_120000_3f9a1c2e
        """
        return cmd_checkpoints_show(checkpoint_id, store_url(storage))

    @checkpoints.command("tree")
    @click.argument("agent_id")
    @storage_option
    def checkpoints_tree(agent_id: str, storage: str | None) -> int:
        """Draw an agent's checkpoints as a tree (forks are branches).

        \b
        Example:
          kaizen checkpoints tree my-agent
        """
        return cmd_checkpoints_tree(agent_id, store_url(storage))

    @checkpoints.command("fork")
    @click.argument("checkpoint_id")
    @click.option("--as", "new_agent_id", metavar="NEW_AGENT_ID", help="save the copy under another agent id")
    @storage_option
    def checkpoints_fork(checkpoint_id: str, new_agent_id: str | None, storage: str | None) -> int:
        """Save an independent copy of a checkpoint (a new branch).

        \b
        Example:
          kaizen checkpoints fork my-agent_step_3_20260101_120000_3f9a1c2e --as my-agent-b
        """
        return cmd_checkpoints_fork(checkpoint_id, store_url(storage), new_agent_id)

    @checkpoints.command("delete")
    @click.argument("checkpoint_id")
    @storage_option
    def checkpoints_delete(checkpoint_id: str, storage: str | None) -> int:
        """Delete one checkpoint (checkpoints stored as deltas of it still load).

        \b
        Example:
          kaizen checkpoints delete my-agent_step_3_20260101_120000_3f9a1c2e
        """
        return cmd_checkpoints_delete(checkpoint_id, store_url(storage))

    @checkpoints.command("prune")
    @click.argument("agent_id")
    @click.option("--keep", type=click.IntRange(min=0), required=True, help="how many of the newest to keep")
    @storage_option
    def checkpoints_prune(agent_id: str, keep: int, storage: str | None) -> int:
        """Delete all but an agent's N newest checkpoints.

        \b
        Example:
          kaizen checkpoints prune my-agent --keep 5
        """
        return cmd_checkpoints_prune(agent_id, store_url(storage), keep)

    @cli.group()
    def audit() -> None:
        """Audit trails (the hash-chained JSONL of the audit hook)."""

    @audit.command("verify")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--expect-head", metavar="HASH", help="the last record's hash, kept elsewhere (catches a cut end)")
    @click.option("--expect-records", type=click.IntRange(min=0), metavar="N", help="the record count kept elsewhere")
    @click.option("--key-env", metavar="VAR", help="environment variable holding the key of a keyed (HMAC) trail")
    @click.option("--json", "as_json", is_flag=True, help="machine-readable result")
    def audit_verify(
        file: str, expect_head: str | None, expect_records: int | None, key_env: str | None, as_json: bool
    ) -> int:
        """Check an audit trail: exit 0 and "ok N records", or 1 naming the first bad line.

        \b
        Example:
          kaizen audit verify kaizen-audit.jsonl
        """
        return cmd_audit_verify(file, expect_head, expect_records, key_env, as_json)

    @cli.command()
    def version() -> int:
        """Print the version.

        \b
        Example:
          kaizen version
        """
        print(_version())
        return 0

    _add_plugin_commands(cli)
    return cli


def _add_plugin_commands(cli: Any) -> None:
    """Add the commands plugins register (``register_cli_commands``); each loads only when it runs."""
    import click

    from kaizen_core.plugins import Registration, get_registry

    class PluginCommand(click.Command):
        """A plugin's command: its arguments (``--help`` too) go unparsed to the real command."""

        def __init__(self, registration: Registration) -> None:
            super().__init__(
                registration.name,
                help=registration.description,
                short_help=registration.description or f"from {registration.distribution}",
                context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
            )
            self.registration = registration

        def invoke(self, ctx: click.Context) -> Any:
            command: click.Command = self.registration.load()
            return command.main(args=ctx.args, prog_name=ctx.command_path, standalone_mode=False)

    registry = get_registry()
    for name in registry.names("cli_command"):
        if name not in cli.commands:  # a plugin never shadows a core command
            cli.add_command(PluginCommand(registry.get("cli_command", name)), name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: runs the command and returns its exit code (see the module docstring)."""
    import click

    cli = build_cli()
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="kaizen", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help
        return int(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.ClickException as exc:  # e.g. a plugin command's BadParameter-like failure: no traceback
        exc.show()
        return int(exc.exit_code)
    except click.Abort:
        return 130
    except AgentInterrupted as exc:  # the partial result on stdout; 130/143 after SIGINT/SIGTERM, like Python
        from kaizen_core.interrupts import exit_code_for

        if exc.result is not None:
            print(json.dumps(exc.result, indent=2, default=str))
        print(json.dumps({"error": exc.to_dict()}), file=sys.stderr)
        return exit_code_for(exc.reason) or 1
    except ConvergenceError as exc:
        if exc.result is not None:
            print(json.dumps(exc.result, indent=2, default=str))
        print(json.dumps({"error": exc.to_dict()}), file=sys.stderr)
        return EXIT_CONVERGENCE
    except KaizenError as exc:
        print(json.dumps({"error": exc.to_dict()}), file=sys.stderr)
        return 1
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
