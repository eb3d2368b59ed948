"""Describe an agent as an A2A AgentCard (the JSON form of the A2A 1.x protobuf message)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent


def _skill_id(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "skill"


def agent_card(agent: BaseAgent, *, url: str, version: str) -> dict[str, Any]:
    """AgentCard JSON (camelCase field names, as A2A's ProtoJSON mapping expects).

    The card's description is the agent's ``capability`` when one is set
    (``agent.capability = "Data analysis and visualization"``), else the signature's
    instructions (its docstring, intent and guidelines), else "Kaizen agent for <Signature>".
    One skill for the signature (its instructions, inputs and outputs in the description)
    and one per tool. Input and output modes are JSON plus plain text.
    """
    sig = agent.signature
    sig_name = type(sig).__name__
    instructions = sig.instructions() or f"Kaizen agent for {sig_name}"
    capability = getattr(agent, "capability", None)
    description = capability.strip() if isinstance(capability, str) and capability.strip() else instructions
    inputs = ", ".join(sig.input_fields())
    outputs = ", ".join(sig.output_fields())
    modes = ["application/json", "text/plain"]
    skills: list[dict[str, Any]] = [
        {
            "id": _skill_id(sig_name),
            "name": sig_name,
            "description": f"{instructions} Inputs: {inputs}. Outputs: {outputs}.",
            "tags": ["signature", *sig.input_fields(), *sig.output_fields()],
            "inputModes": modes,
            "outputModes": ["application/json"],
        }
    ]
    for definition in agent.tool_definitions():
        skills.append(
            {
                "id": f"tool-{_skill_id(definition.name)}",
                "name": definition.name,
                "description": definition.description or f"Tool {definition.name}",
                "tags": ["tool"],
            }
        )
    return {
        "name": agent.agent_id,
        "description": description,
        "version": version,
        "supportedInterfaces": [{"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "provider": {"organization": "Kaizen", "url": "https://pypi.org/project/kaizen-core/"},
        "capabilities": {"streaming": bool(agent.config.stream), "pushNotifications": False},
        "defaultInputModes": modes,
        "defaultOutputModes": ["application/json"],
        "skills": skills,
    }
