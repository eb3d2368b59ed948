"""A secret a tool returns never reaches the model, the journal or a checkpoint (driven through the agents)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.redaction import forget_secrets, register_secret
from kaizen_core.state.codec import decode
from kaizen_core.tools import tool

pytestmark = pytest.mark.anyio

# no recognisable shape: only the known-secrets registry (the environment) can catch it
KEY = "opaque-7d1e2c9b5a40f3"


@pytest.fixture(autouse=True)
def provider_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    forget_secrets()


@tool(read_only=True)
def show_environment() -> str:
    """Return the provider key (a leaky tool)."""
    return f"the key is {os.environ['OPENAI_API_KEY']}"


@tool(read_only=True)
def show_settings() -> dict[str, str]:
    """Return settings holding secrets in several shapes."""
    return {
        "key": os.environ["OPENAI_API_KEY"],
        "cache": "redis://app:p@ss-w0rd@cache.internal/0",
        "registered": "db-password-registered-91",
    }


def tool_messages(provider: MockProvider) -> list[str]:
    return [m.content or "" for m in provider.requests[-1].messages if m.role == "tool"]


async def test_base_agent_feeds_the_model_a_redacted_tool_result() -> None:
    provider = MockProvider(script=[calls(("show_environment", {})), {"answer": "done"}])
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", provider=provider, tools=[show_environment])
    result = await agent.run_async(question="what is the key?")

    assert result["answer"] == "done"
    assert tool_messages(provider) == ["the key is ***"]
    assert all(KEY not in (m.content or "") for request in provider.requests for m in request.messages)


async def test_autonomous_agent_keeps_secrets_out_of_model_journal_and_checkpoints(tmp_path: Path) -> None:
    register_secret("db-password-registered-91")
    provider = MockProvider(script=[calls(("show_settings", {})), {"summary": "done"}])
    ckpt = tmp_path / "ckpt"
    config = AutonomousConfig(
        llm_provider="mock",
        checkpoint_storage=f"file://{ckpt}",
        workspace_root=str(tmp_path),
        enable_interrupts=False,
    )
    agent = BaseAutonomousAgent(config, "task -> summary", provider=provider, tools=[show_settings])
    result = await agent.run_autonomous("show me the settings")

    assert result["summary"] == "done"
    (content,) = tool_messages(provider)
    assert content == '{"key": "***", "cache": "redis://app:***@cache.internal/0", "registered": "***"}'
    stored = {p: _readable(p) for p in ckpt.rglob("*") if p.is_file()}
    # the tool result is in the stored conversation (so the check below is not vacuous)...
    assert any(b"cache.internal" in data for data in stored.values())
    # ...with no secret in it, compressed or not
    for path, data in stored.items():
        for secret in (KEY, "p@ss-w0rd", "db-password-registered-91"):
            assert secret.encode() not in data, (path, secret)


def _readable(path: Path) -> bytes:
    """A stored file's bytes, plus its decoded JSON when it is a (possibly compressed) checkpoint."""
    raw = path.read_bytes()
    start = raw.find(b"KZ1")  # the codec payload, after the file store's header line
    if start >= 0:
        raw += json.dumps(decode(raw[start:], str(path))).encode()
    return raw


def test_a_provider_key_passed_in_code_is_redacted_from_tool_output() -> None:
    """An api_key given to a provider constructor (not from the environment) is a known secret too."""
    from kaizen_core.providers.http import HTTPProvider
    from kaizen_core.redaction import forget_secrets, redact

    class Provider(HTTPProvider):
        name = "keyed"
        default_base_url = "http://127.0.0.1:9"
        api_key_env = ()

    key = "plain-key-without-a-known-shape-0123"
    try:
        Provider(api_key=key)
        assert redact(f"the key is {key}") == "the key is ***"
    finally:
        forget_secrets(key)
