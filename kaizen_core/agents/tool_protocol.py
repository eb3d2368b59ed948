"""How the autonomous loop talks tools with a model: native tool calling or a JSON protocol.

* :class:`NativeToolProtocol`: the provider has native tool calling (``supports_tools``);
  tools go in the request, calls come back as :class:`ToolCall` objects, results go back
  as ``tool`` messages.
* :class:`JsonToolProtocol`: for providers without it. The model replies
  ``{"tool_calls": [{"name": ..., "arguments": {...}}]}`` or ``{"final_answer": {...}}``,
  constrained by :func:`json_protocol_schema`; results go back in one user message
  starting with ``Tool results:``.

Both give the final-answer turn (tools withheld, the signature's schema only) that the
loop asks for when it must stop (max_cycles, repeated calls).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from kaizen_core.providers.base import parse_json_output
from kaizen_core.providers.types import Completion, Message, ToolCall

if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.agents.run import AgentRun

__all__ = ["JsonToolProtocol", "NativeToolProtocol", "ToolProtocol", "json_protocol_schema", "tool_protocol_for"]

NATIVE_INSTRUCTIONS = (
    "You are an autonomous agent. Call the available tools as needed, one step at a time; "
    "tool results come back to you. When the task is done, reply without calling any tool, "
    "with the final JSON answer."
)

FINAL_ANSWER_PROMPT = (
    "{why} Do not call any tool. Reply now with the final answer as one JSON object with the "
    "output fields, using what the tool results so far tell you."
)


class ToolProtocol(Protocol):
    """What the loop needs from a tool protocol."""

    native: bool

    def instructions(self, agent: BaseAgent) -> str:
        """System-prompt text that explains how to call tools."""
        ...

    async def ask(self, run: AgentRun, agent: BaseAgent) -> tuple[Completion, list[ToolCall]]:
        """One model turn with the tools offered: the completion and its tool calls."""
        ...

    def append_assistant(
        self, run: AgentRun, content: str | None, calls: list[ToolCall], provider_data: dict[str, Any] | None = None
    ) -> None:
        """Add the model's tool-calling turn (with the completion's ``provider_data``) to the conversation."""
        ...

    def append_results(self, run: AgentRun, calls: list[ToolCall], results: list[Message]) -> None:
        """Add the tool results to the conversation."""
        ...


async def ask_final_answer(run: AgentRun, why: str) -> Completion:
    """The final-answer turn: tools withheld, the signature's output schema only."""
    run.messages.append(Message(role="user", content=FINAL_ANSWER_PROMPT.format(why=why)))
    return await run.complete()


class NativeToolProtocol:
    """Native tool calling (see the module docstring)."""

    native = True

    def instructions(self, agent: BaseAgent) -> str:
        return NATIVE_INSTRUCTIONS

    async def ask(self, run: AgentRun, agent: BaseAgent) -> tuple[Completion, list[ToolCall]]:
        completion = await run.complete(tools=agent.tool_definitions())
        return completion, list(completion.tool_calls)

    def append_assistant(
        self, run: AgentRun, content: str | None, calls: list[ToolCall], provider_data: dict[str, Any] | None = None
    ) -> None:
        run.messages.append(Message(role="assistant", content=content, tool_calls=calls, provider_data=provider_data))

    def append_results(self, run: AgentRun, calls: list[ToolCall], results: list[Message]) -> None:
        run.messages.extend(results)


class JsonToolProtocol:
    """Tool calls as JSON replies (see the module docstring)."""

    native = False

    def instructions(self, agent: BaseAgent) -> str:
        tools = [
            {"name": d.name, "description": d.description, "parameters": d.parameters} for d in agent.tool_definitions()
        ]
        return (
            "You are an autonomous agent that acts through tools. Tools:\n"
            + json.dumps(tools, separators=(",", ":"))
            + "\nReply with exactly one JSON object and nothing else:\n"
            '- to call tools: {"tool_calls": [{"name": "<tool>", "arguments": {...}}]}\n'
            '- when the task is done: {"final_answer": {<the output fields>}}\n'
            "Tool results come back in a user message starting with 'Tool results:'."
        )

    async def ask(self, run: AgentRun, agent: BaseAgent) -> tuple[Completion, list[ToolCall]]:
        names = agent.tools.names() if agent.tools else []
        completion = await run.complete(output_schema=json_protocol_schema(names, agent.signature.output_schema()))
        return self.parse_reply(run, completion)

    @staticmethod
    def parse_reply(run: AgentRun, completion: Completion) -> tuple[Completion, list[ToolCall]]:
        """Split a protocol reply into tool calls, or a completion whose ``parsed`` is the final answer."""
        data = completion.parsed if completion.parsed is not None else parse_json_output(completion.content)
        if not isinstance(data, dict):
            return completion, []
        raw_calls = data.get("tool_calls")
        if isinstance(raw_calls, list) and raw_calls:
            calls = []
            for i, raw in enumerate(raw_calls):
                if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                    raw = {"name": "(invalid)", "arguments": {"call": raw}}
                arguments = raw.get("arguments")
                calls.append(
                    ToolCall(
                        id=str(raw.get("id") or f"call_{run.cycle}_{i}"),
                        name=raw["name"],
                        arguments=arguments if isinstance(arguments, dict) else {},
                    )
                )
            return completion, calls
        if isinstance(data.get("final_answer"), dict):
            return completion.model_copy(update={"parsed": data["final_answer"]}), []
        return completion.model_copy(update={"parsed": data}), []

    def append_assistant(
        self, run: AgentRun, content: str | None, calls: list[ToolCall], provider_data: dict[str, Any] | None = None
    ) -> None:
        # provider_data is not replayed: the JSON protocol's turns are plain text to the provider.
        text = content or json.dumps({"tool_calls": [{"name": c.name, "arguments": c.arguments} for c in calls]})
        run.messages.append(Message(role="assistant", content=text))

    def append_results(self, run: AgentRun, calls: list[ToolCall], results: list[Message]) -> None:
        payload = [{"id": c.id, "name": c.name, "result": m.content} for c, m in zip(calls, results, strict=True)]
        run.messages.append(Message(role="user", content="Tool results:\n" + json.dumps(payload)))


def tool_protocol_for(agent: BaseAgent) -> ToolProtocol:
    """Native tool calling when the provider supports it, else the JSON protocol."""
    return NativeToolProtocol() if getattr(agent.provider, "supports_tools", True) else JsonToolProtocol()


def json_protocol_schema(tool_names: list[str], output_schema: dict[str, Any]) -> dict[str, Any]:
    """The reply schema of the JSON tool protocol: ``tool_calls`` or ``final_answer``."""
    schema = dict(output_schema)
    defs = schema.pop("$defs", None)
    protocol: dict[str, Any] = {
        "type": "object",
        "properties": {
            "tool_calls": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "enum": tool_names} if tool_names else {"type": "string"},
                        "arguments": {"type": "object"},
                    },
                    "required": ["name", "arguments"],
                },
            },
            "final_answer": schema,
        },
    }
    if defs:
        protocol["$defs"] = defs
    return protocol
