"""A file-organizing autonomous agent, runnable offline on the scripted mock provider.

    python examples/autonomous/organize_files.py            # run in a fresh temporary folder
    python examples/autonomous/organize_files.py ./messy    # organize that folder (its files are moved)

The agent lists the folder, then moves each file into a sub-folder named after its
kind (docs/, images/, data/). ``move_file`` is a custom MEDIUM tool, so every move
needs approval: the in-memory control transport below plays the user and approves
moves, printing each request; the tool calls are shown by the same live view as
``kaizen run`` (:class:`kaizen_core.cli_view.RunView`). ``agent.toml`` is this agent for
``kaizen run``, asking the approvals in the terminal. Swap ``MockProvider(script=...)`` for a real provider
(``llm_provider="openai"``...) and the same agent decides the moves itself.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.cli_view import RunView
from kaizen_core.config import AutonomousConfig
from kaizen_core.control import ControlProtocol, ControlRequest, InMemoryTransport
from kaizen_core.errors import ToolExecutionError
from kaizen_core.providers.mock import MockProvider
from kaizen_core.signatures import InputField, OutputField, Signature
from kaizen_core.tools import DangerLevel, ToolContext, ToolRegistry, resolve_in_workspace, tool

KINDS = {".txt": "docs", ".md": "docs", ".jpg": "images", ".png": "images", ".csv": "data", ".json": "data"}


class OrganizeFiles(Signature):
    """Organize the files of a folder into sub-folders by kind."""

    task: str = InputField(description="what to organize")
    summary: str = OutputField(description="what was done")
    moved: int = OutputField(description="number of files moved")


@tool(danger_level=DangerLevel.MEDIUM, category="files")
def move_file(source: str, destination: str, context: ToolContext) -> dict[str, str]:
    """Move a file inside the workspace (creates the destination folder)."""
    src = resolve_in_workspace(source, context.workspace_root)
    dst = resolve_in_workspace(destination, context.workspace_root)
    if not src.is_file():
        raise ToolExecutionError(f"{source!r} is not a file")
    if dst.exists():
        raise ToolExecutionError(f"{destination!r} already exists")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(src, dst)
    return {"moved": source, "to": destination}


def scripted_model(files: list[str]) -> MockProvider:
    """What a model would reply, cycle by cycle: look, move everything at once, answer."""
    moves = [
        {"name": "move_file", "arguments": {"source": name, "destination": f"{KINDS[Path(name).suffix]}/{name}"}}
        for name in files
        if Path(name).suffix in KINDS
    ]
    return MockProvider(
        script=[
            {"tool_calls": [{"name": "list_directory", "arguments": {"path": "."}}]},
            {"tool_calls": moves},
            {"summary": f"sorted {len(moves)} files into {sorted({m['arguments']['destination'].split('/')[0] for m in moves})}", "moved": len(moves)},
        ]
    )


def approve(request: ControlRequest) -> dict[str, bool] | None:
    if request.request_type != "approval":
        return None
    args = request.data["details"]["arguments"]
    print(f"  approve {request.data['action']}({args['source']} -> {args['destination']})? yes")
    return {"approved": True}


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="kaizen-organize-"))
    if len(sys.argv) == 1:
        for name in ("notes.txt", "README.md", "cat.jpg", "plot.png", "sales.csv", "config.json"):
            (root / name).write_text(f"content of {name}\n")
    files = sorted(p.name for p in root.iterdir() if p.is_file())
    print(f"workspace: {root}\nfiles: {files}")

    transport = InMemoryTransport()
    transport.client.auto_respond(approve)
    config = AutonomousConfig(
        llm_provider="mock",
        max_cycles=10,
        workspace_root=str(root),
        checkpoint_storage=f"file://{root / '.kaizen' / 'checkpoints'}",
        enable_interrupts=False,
    )
    agent = BaseAutonomousAgent(
        config,
        OrganizeFiles(),
        provider=scripted_model(files),
        tools=ToolRegistry.from_config(["list_directory"], extra=[move_file]),
        control_protocol=ControlProtocol(transport),
        agent_id="file-organizer",
    )
    RunView().attach(agent)  # the live view of `kaizen run`: each cycle and tool call, on stderr
    result = agent.run_autonomous_sync("organize this folder by file kind")

    print(f"\nsummary: {result['summary']}  (moved {result['moved']})")
    print(f"stop reason: {result['stop_reason']}, cycles: {result['cycles_used']}, checkpoint: {result['checkpoint_id']}")
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        print(f"{folder.name}/: {sorted(f.name for f in folder.iterdir())}")


if __name__ == "__main__":
    main()
