"""kaizen-serve's hookimpls: the ``kaizen serve`` command and the ``http`` control transport."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_cli_commands(register: Register) -> None:
    register("serve", "kaizen_serve.cli:serve", description="Serve agents over HTTP (runs, SSE events, approvals)")


@hookimpl
def register_transports(register: Register) -> None:
    register(
        "http",
        "kaizen_serve.transport:HTTPTransport",
        description="HTTP/SSE: requests on a served run's event stream, answers by POST",
    )
