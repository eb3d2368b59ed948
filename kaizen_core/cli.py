"""The ``kaizen`` command.

    kaizen plugins [--json]                      installed plugins and what they register
    kaizen run agent.toml --input question=...   run an agent described in TOML, print JSON
    kaizen storage migrate URL                   create/upgrade a storage backend's schema
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from kaizen_core.errors import AgentInterrupted, ConfigError, KaizenError


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


def cmd_plugins(args: argparse.Namespace) -> int:
    from kaizen_core.plugins import get_registry

    data = get_registry().describe()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for plugin in data["plugins"]:
        print(f"{plugin['distribution']} {plugin['version']} (plugin {plugin['name']})")
        for kind, names in plugin["registered"].items():
            aliases = plugin.get("aliases", {}).get(kind, {})
            shown = [f"{n} (alias {', '.join(a for a, t in aliases.items() if t == n)})" if n in aliases.values() else n for n in names]
            print(f"  {kind}: {', '.join(shown)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from kaizen_core.agent_loader import load_agent

    inputs = dict(_parse_input(item) for item in args.input or [])
    agent = load_agent(args.file)
    if hasattr(agent, "run_autonomous_sync") and "task" in inputs:
        result = agent.run_autonomous_sync(inputs.pop("task"))
    else:
        result = agent.run(**inputs)
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_storage_migrate(args: argparse.Namespace) -> int:
    from kaizen_core._sync import run_sync
    from kaizen_core.state.urls import open_store

    async def migrate() -> str:
        store = open_store(args.url)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kaizen", description="Kaizen agent framework")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plugins", help="list installed plugins")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(fn=cmd_plugins)
    p = sub.add_parser("run", help="run an agent described in a TOML file")
    p.add_argument("file")
    p.add_argument("--input", "-i", action="append", metavar="NAME=VALUE", help="an input field (repeatable)")
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("storage", help="storage backend maintenance")
    storage = p.add_subparsers(dest="storage_command", required=True)
    m = storage.add_parser("migrate", help="create or upgrade a backend's schema")
    m.add_argument("url")
    m.set_defaults(fn=cmd_storage_migrate)
    sub.add_parser("version", help="print the version").set_defaults(fn=lambda _a: print(_version()) or 0)
    return parser


def _version() -> str:
    from kaizen_core import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.fn(args)
    except AgentInterrupted as exc:  # the partial result on stdout; 130/143 after SIGINT/SIGTERM, like Python
        from kaizen_core.interrupts import exit_code_for

        if exc.result is not None:
            print(json.dumps(exc.result, indent=2, default=str))
        print(json.dumps({"error": exc.to_dict()}), file=sys.stderr)
        return exit_code_for(exc.reason) or 1
    except KaizenError as exc:
        print(json.dumps({"error": exc.to_dict()}), file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
