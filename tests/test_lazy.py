"""kaizen_core.lazy.lazy_exports: a package's names load their module on first use, once."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kaizen_core
import kaizen_core.hooks
import kaizen_core.memory


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    root = tmp_path / "lazypkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        "from kaizen_core.lazy import lazy_exports\n"
        '__all__ = ["Thing", "other", "EAGER"]\n'
        "EAGER = 1\n"
        '__getattr__, __dir__ = lazy_exports(globals(), {"Thing": "lazypkg.heavy", "other": "lazypkg.heavy:make"})\n',
        encoding="utf-8",
    )
    (root / "heavy.py").write_text("class Thing: ...\ndef make(): return 'made'\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazypkg"
    for name in ("lazypkg", "lazypkg.heavy"):
        sys.modules.pop(name, None)


def test_names_load_their_module_on_first_use_and_are_cached(package: str) -> None:
    pkg = importlib.import_module(package)
    assert "lazypkg.heavy" not in sys.modules
    thing = pkg.Thing
    assert thing is sys.modules["lazypkg.heavy"].Thing and vars(pkg)["Thing"] is thing  # cached in the package
    assert pkg.other is sys.modules["lazypkg.heavy"].make  # "module:attribute"
    assert pkg.other() == "made"


def test_unknown_names_are_attribute_errors_and_dir_lists_the_exports(package: str) -> None:
    pkg = importlib.import_module(package)
    with pytest.raises(AttributeError, match="module 'lazypkg' has no attribute 'Nope'"):
        _ = pkg.Nope
    assert not hasattr(pkg, "Nope")
    assert dir(pkg) == ["EAGER", "Thing", "other"]
    assert "lazypkg.heavy" not in sys.modules  # dir() imports nothing


def test_core_packages_export_lazily() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kaizen_core, kaizen_core.hooks, kaizen_core.memory\n"
            "print(sorted(m for m in ('kaizen_core.agents.base', 'kaizen_core.hooks.builtin',"
            " 'kaizen_core.memory.buffer', 'httpx') if m in sys.modules))\n"
            "kaizen_core.BaseAgent, kaizen_core.hooks.AuditHook, kaizen_core.memory.BufferMemory\n"
            "print(sorted(m for m in ('kaizen_core.agents.base', 'kaizen_core.hooks.builtin',"
            " 'kaizen_core.memory.buffer') if m in sys.modules))\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == ["[]", "['kaizen_core.agents.base', 'kaizen_core.hooks.builtin', 'kaizen_core.memory.buffer']"]
    assert dir(kaizen_core) == sorted(kaizen_core.__all__)
    assert {"AuditHook", "JsonLogsHook", "HookManager"} <= set(dir(kaizen_core.hooks))
    assert "BufferMemory" in dir(kaizen_core.memory)
    with pytest.raises(AttributeError, match=r"module 'kaizen_core\.memory' has no attribute 'Nope'"):
        _ = kaizen_core.memory.Nope


#: A plain agent run on the mock: what a cold start must not import (printed from sys.modules).
PLAIN_RUN = """
import sys
from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature

class QA(Signature):
    question: str = InputField(desc="a question")
    answer: str = OutputField(desc="the answer")

assert BaseAgent(BaseAgentConfig(llm_provider="mock"), QA()).run(question="2+2?")["answer"]
unwanted = ("anyio", "pluggy", "kaizen_core.tools", "kaizen_core.interrupts.handlers", "kaizen_core.builtins",
            "kaizen_core.config_extra", "kaizen_core.hooks", "httpx", "kaizen_core.structured_output_settings",
            "pydantic.type_adapter")
plugin_modules = sorted({m.split(".")[0] for m in sys.modules if m.startswith("kaizen_") and not m.startswith("kaizen_core")})
print(sorted(m for m in unwanted if m in sys.modules), plugin_modules)
"""


def test_a_plain_agent_run_imports_only_what_it_uses(tmp_path: Path) -> None:
    env = {**os.environ, "KAIZEN_PLUGIN_CACHE": str(tmp_path / "cache")}
    env.pop("KAIZEN_LOAD_PLUGINS", None)  # every installed plugin (all first-party ones in the dev venv)
    runs = [
        subprocess.run([sys.executable, "-c", PLAIN_RUN], env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    # the first process builds the plugin registry from the hooks (pluggy, the plugins' modules)
    # and caches it; the next one reads it back and imports none of them
    assert "'pluggy'" in runs[0].stdout
    assert runs[1].stdout.strip() == "[] []", runs[1].stdout


def test_interrupt_models_load_on_first_use_under_their_public_names() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kaizen_core.interrupts.types as types\n"
            "print('kaizen_core.interrupts.models' in sys.modules)\n"
            "from kaizen_core.interrupts.types import InterruptContext, InterruptReason\n"
            "import kaizen_core.interrupts as interrupts\n"
            "print(interrupts.InterruptReason is InterruptReason, interrupts.InterruptContext is InterruptContext)\n"
            "reason = InterruptReason(source='user', mode='immediate', message='stop', metadata={'k': 1})\n"
            "print(types.interrupt_request(reason=reason))\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == [
        "False",
        "True True",
        "(<InterruptSource.USER: 'user'>, <InterruptMode.IMMEDIATE: 'immediate'>, 'stop', {'k': 1})",
    ]


def test_secret_env_name_is_compiled_on_first_use() -> None:
    import kaizen_core.redaction as redaction
    from kaizen_core.redaction import SECRET_ENV_NAME

    assert SECRET_ENV_NAME.search("OPENAI_API_KEY") and not SECRET_ENV_NAME.search("HOME")
    assert redaction.SECRET_ENV_NAME is SECRET_ENV_NAME and "SECRET_ENV_NAME" in dir(redaction)


def test_structured_output_settings_load_with_the_first_response_format() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature\n"
            "from kaizen_core.structured_output import create_structured_output_config\n"
            "class QA(Signature):\n"
            "    question: str = InputField(desc='q')\n"
            "    answer: str = OutputField(desc='a')\n"
            "plain = BaseAgent(BaseAgentConfig(llm_provider='mock'), QA())\n"
            "print(plain.structured_output, 'kaizen_core.structured_output_settings' in sys.modules)\n"
            "config = BaseAgentConfig(llm_provider='mock', provider_config=create_structured_output_config(QA))\n"
            "agent = BaseAgent(config, QA())\n"
            "from kaizen_core.structured_output import StructuredOutputSettings\n"
            "print(type(agent.structured_output) is StructuredOutputSettings, agent.structured_output)\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == ["None False", "True name='QA' strict=True"]
