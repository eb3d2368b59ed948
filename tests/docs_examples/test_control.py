"""The Control Protocol examples of the original Kaizen documentation, run as written.

Imports translated (``kaizen.core.autonomy.control`` -> ``kaizen_core.control``). The excerpt
uses an ``agent`` and ``details`` it does not define: the agent is made with the protocol
(``control_protocol=protocol``), and the user at the terminal is a scripted stdin.
"""

from __future__ import annotations

import io
import sys

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig

pytestmark = pytest.mark.anyio


async def _control_protocol_example(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The example, identical in both quick references."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("2\ny\n"))  # the user picks option 2, then approves
    details = {"paths": ["build/", "dist/"], "count": 2}

    from kaizen_core.control import ControlProtocol
    from kaizen_core.control.transports import CLITransport

    # Create bidirectional protocol
    protocol = ControlProtocol(CLITransport())
    await protocol.start()
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", control_protocol=protocol)

    # Agent asks questions during execution
    answer = await agent.ask_user_question("Which option?", ["A", "B", "C"])

    # Agent requests approval for dangerous operations
    approved = await agent.request_approval("Delete files?", details)

    # Agent reports progress
    await agent.report_progress("Processing...", percentage=50)

    assert answer == "B"
    assert approved is True
    shown = capsys.readouterr().err
    assert "Which option?\n  1) A\n  2) B\n  3) C\n> " in shown
    assert "Approve Delete files?\n  paths: ['build/', 'dist/']\n  count: 2\n[y/N] " in shown
    assert shown.endswith("[50%] Processing...\n")
    await protocol.stop()


async def test_quick_reference_control_protocol(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """quick-reference.md, Core API > Control Protocol."""
    await _control_protocol_example(monkeypatch, capsys)


async def test_quick_reference_v0_5_control_protocol(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """quick-reference-v0.5.md, Core API > Control Protocol (NEW in v0.2.0)."""
    await _control_protocol_example(monkeypatch, capsys)
