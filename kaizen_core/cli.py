"""The ``kaizen`` command (Click + Rich, both imported only when the command runs).

    kaizen plugins [--json]                      installed plugins and what they register
    kaizen run agent.toml --input question=...   run an agent described in TOML (live view on stderr)
    kaizen storage migrate URL                   create/upgrade a storage backend's schema
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
            shown = [f"{n} (alias {', '.join(a for a, t in aliases.items() if t == n)})" if n in aliases.values() else n for n in names]
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


def _print_resume_hint(file: str, agent: Any, exc: AgentInterrupted, err: Any) -> None:
    """After an interrupt: where the checkpoint is and the exact command that resumes the run."""
    import shlex

    checkpoint = (exc.result or {}).get("checkpoint_id")
    storage = getattr(agent.config, "checkpoint_storage", None)
    if not checkpoint:
        err.print(f"interrupted: no checkpoint was saved (checkpoint_storage = {storage!r})", markup=False)
        return
    err.print(f"interrupted: checkpoint {checkpoint} of agent {agent.agent_id} saved in {storage}", markup=False)
    err.print(f"resume with: kaizen run {shlex.quote(file)} --resume {shlex.quote(str(checkpoint))}", markup=False, soft_wrap=True)


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
    def run(
        file: str,
        items: tuple[str, ...],
        inputs_json: str | None,
        as_json: bool,
        quiet: bool,
        resume: str | None,
        resume_latest: bool,
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
        return cmd_run(file, inputs, as_json=as_json, quiet=quiet, resume=resume, resume_latest=resume_latest)

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
    def version() -> int:
        """Print the version.

        \b
        Example:
          kaizen version
        """
        print(_version())
        return 0

    return cli


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
