"""kaizen-serve: Kaizen agents and pipelines as an HTTP API (runs, SSE events, approvals).

    kaizen serve agents.toml --port 8000          # the CLI (this plugin's `serve` command)
    from kaizen_serve import create_app           # embed in an ASGI app

Importing the package is cheap: Starlette and uvicorn load only when an app is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from kaizen_serve.app import create_app

        return create_app
    raise AttributeError(f"module 'kaizen_serve' has no attribute {name!r}")
