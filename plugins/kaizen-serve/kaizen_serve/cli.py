"""``kaizen serve FILE.toml [FILE.toml ...]``: serve agents over HTTP with uvicorn.

    kaizen serve examples/quickstart/agent.toml                  # key printed on stderr
    kaizen serve agents.toml --api-key-file keys.toml --port 9000 --workers 4 \
        --storage postgresql://user:pw@db/kaizen
    kaizen serve --add-key ci --allow-agent quickstart-qa --api-key-file keys.toml

Keys: ``--api-key-file`` (hashes, see :mod:`kaizen_serve.auth`), the ``KAIZEN_SERVE_API_KEY``
environment variable, or, with neither, a fresh key printed once on stderr.
``--insecure-no-auth`` turns authentication off and is refused unless the host is a
loopback address. SIGTERM / Ctrl+C stop gracefully: running runs are interrupted with
a checkpoint and resumed by the next server started on the same ``--storage``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

import click

from kaizen_core.tools.netpolicy import is_loopback_host

__all__ = ["app_from_env", "serve"]

SETTINGS_ENV = "KAIZEN_SERVE_SETTINGS"
KEY_ENV = "KAIZEN_SERVE_API_KEY"


def app_from_env() -> Any:
    """The app described by ``$KAIZEN_SERVE_SETTINGS`` (how each uvicorn worker builds it)."""
    from kaizen_serve.app import create_app
    from kaizen_serve.auth import APIKey, KeyRing
    from kaizen_serve.limits import Limits

    settings = json.loads(os.environ[SETTINGS_ENV])
    keys = KeyRing([APIKey.model_validate(k) for k in settings["keys"]], insecure=settings["insecure"])
    return create_app(
        agents=settings["files"],
        api_keys=keys,
        storage=settings["storage"],
        limits=Limits.model_validate(settings["limits"]),
        host=settings["host"],
        worker_id=settings["worker_id"],
        worker_lease=settings["worker_lease"],
    )


@click.command(name="serve", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes")
@click.option("--storage", default=None, help="Runs, events and checkpoints URL [default: sqlite:///.kaizen/serve.db]")
@click.option("--api-key-file", type=click.Path(dir_okay=False), help="TOML file of accepted key hashes")
@click.option("--insecure-no-auth", is_flag=True, help="Accept requests without a key (loopback hosts only)")
@click.option("--add-key", metavar="NAME", help="Add a new key NAME to --api-key-file, print it, and exit")
@click.option(
    "--allow-agent", multiple=True, metavar="AGENT", help="With --add-key: agents the key may run (default all)"
)
@click.option("--max-body-bytes", default=1_048_576, show_default=True, type=click.IntRange(1))
@click.option(
    "--max-streams", default=100, show_default=True, type=click.IntRange(1), help="Concurrent SSE streams per process"
)
@click.option(
    "--worker-lease",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.5),
    help="Seconds without a heartbeat after which a server process is taken for dead (its runs resume elsewhere)",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve(
    files: tuple[str, ...],
    host: str,
    port: int,
    workers: int,
    storage: str | None,
    api_key_file: str | None,
    insecure_no_auth: bool,
    add_key: str | None,
    allow_agent: tuple[str, ...],
    max_body_bytes: int,
    max_streams: int,
    worker_lease: float,
    log_level: str,
) -> None:
    """Serve the agents and pipelines of FILES (TOML with [agent] or [pipeline]) over HTTP."""
    # A KaizenError (a bad file, an unknown storage scheme) goes up to the `kaizen` command,
    # which prints it as a coded JSON error and exits 1.
    from kaizen_serve.app import DEFAULT_STORAGE
    from kaizen_serve.auth import APIKey, KeyRing, append_key, hash_key, new_key
    from kaizen_serve.limits import Limits
    from kaizen_serve.served import ServedAgent

    if add_key:
        if not api_key_file:
            raise click.UsageError("--add-key needs --api-key-file")
        key = append_key(api_key_file, add_key, list(allow_agent) or None)
        click.echo(key)
        click.echo(f"added key {add_key!r} to {api_key_file} (only its hash is stored: keep the key now)", err=True)
        return
    if not files:
        raise click.UsageError("give at least one agent TOML file")
    if insecure_no_auth and not is_loopback_host(host):
        raise click.UsageError(f"--insecure-no-auth is refused on the non-loopback host {host!r}")
    storage_url = storage or DEFAULT_STORAGE
    names = [ServedAgent.from_toml(f, storage_url).name for f in files]  # fail fast on a bad file
    keys: list[APIKey] = []
    if not insecure_no_auth:
        if api_key_file:
            keys.extend(KeyRing.from_file(api_key_file).keys)
        if os.environ.get(KEY_ENV):
            keys.append(APIKey(name="env", sha256=hash_key(os.environ[KEY_ENV])))
        if not keys:
            generated = new_key()
            keys.append(APIKey(name="generated", sha256=hash_key(generated)))
            click.echo(f"API key for this server (not stored; use --api-key-file to keep keys): {generated}", err=True)
    settings = {
        "files": [os.path.abspath(f) for f in files],
        "storage": storage_url,
        "keys": [k.model_dump() for k in keys],
        "insecure": insecure_no_auth,
        "host": host,
        # One process: a stable id, so after a crash the same server resumes what it was running.
        "worker_id": f"{socket.gethostname()}:{port}" if workers == 1 and port else None,
        "worker_lease": worker_lease,
        "limits": Limits(max_body_bytes=max_body_bytes, max_streams=max_streams).model_dump(),
    }
    os.environ[SETTINGS_ENV] = json.dumps(settings)
    click.echo(f"serving {', '.join(names)} on http://{host}:{port} (storage {_safe(storage_url)})", err=True)
    sys.stderr.flush()

    import uvicorn

    config = uvicorn.Config(
        "kaizen_serve.cli:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        timeout_graceful_shutdown=30,
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[config.bind_socket()]).run()


def _safe(url: str) -> str:
    from kaizen_core.urls import safe_url

    return safe_url(url)
