"""The OpenAPI 3.1 document at ``/openapi.json``, written from the served agents' signatures.

Each agent gets its own run paths (``/agents/<name>/runs``, ``/workflows/<name>``) whose
request body is ``{"inputs": <the signature's input schema>}`` and whose result schema
is the signature's output schema, so a client generator (or schemathesis) sees exactly
what the server validates.
"""

from __future__ import annotations

import copy
from typing import Any

from kaizen_serve.served import ServedAgent
from kaizen_serve.store import RUN_STATUSES

__all__ = ["build_openapi"]

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Malformed request",
        401: "Missing or invalid API key",
        403: "The key may not use this agent",
        404: "No such agent or run",
        409: "The run or request is not in a state that allows this",
        402: "?wait=true: the run's budget was exceeded (EXEC_006)",
        413: "Request body too large",
        422: "Invalid inputs (field errors in error.errors)",
        500: "?wait=true: the run failed (its error code), or an internal error (EXEC_003)",
        502: "?wait=true: the model's backend failed (AGENT_004)",
        503: "A server limit was reached",
        504: "?wait=true: the model call timed out (AGENT_003)",
    }
    return {str(s): _json(_ref("Error"), text[s]) for s in statuses}


def _hoist(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    return schema


def build_openapi(
    agents: dict[str, ServedAgent], *, title: str = "Kaizen agents", version: str = "0.1.0"
) -> dict[str, Any]:
    """The OpenAPI document for ``agents`` (see the module docstring)."""
    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "type", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "Kaizen error code (docs/errors.md)"},
                        "type": {"type": "string"},
                        "message": {"type": "string"},
                        "hint": {"type": ["string", "null"]},
                        "errors": {"type": "array", "items": {"type": "object"}},
                        "run_id": {"type": "string"},
                    },
                }
            },
        },
        "Run": {
            "type": "object",
            "required": ["run_id", "agent", "status", "created_at", "updated_at"],
            "properties": {
                "run_id": {"type": "string"},
                "agent": {"type": "string"},
                "status": {"type": "string", "enum": list(RUN_STATUSES)},
                "created_at": {"type": "number"},
                "updated_at": {"type": "number"},
                "result": {"type": ["object", "null"], "description": "Output fields and _meta of a completed run"},
                "error": {"type": ["object", "null"]},
                "checkpoint_id": {"type": ["string", "null"]},
                "worker": {"type": ["string", "null"]},
                "key_name": {"type": ["string", "null"]},
                "agent_id": {"type": ["string", "null"]},
                "inputs": {"type": "object"},
                "pending": {
                    "type": "object",
                    "description": "Approval requests and questions waiting for an answer, by request id",
                    "additionalProperties": {"type": "object"},
                },
            },
        },
        "RunList": {
            "type": "object",
            "required": ["runs"],
            "properties": {"runs": {"type": "array", "items": _ref("Run")}},
        },
        "Agent": {
            "type": "object",
            "required": ["name", "kind", "autonomous"],
            "properties": {
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": ["agent", "pipeline"]},
                "autonomous": {"type": "boolean"},
                "description": {"type": "string"},
                "input_schema": {"type": "object"},
                "output_schema": {"type": "object"},
            },
        },
        "AgentList": {
            "type": "object",
            "required": ["agents"],
            "properties": {"agents": {"type": "array", "items": _ref("Agent")}},
        },
        "Interrupt": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {"type": "string", "enum": ["graceful", "immediate"], "default": "graceful"},
                "message": {"type": "string", "maxLength": 500},
            },
        },
        "Response": {
            "type": "object",
            "additionalProperties": False,
            "description": "An approval's answer ({approved}) or a question's ({answer})",
            "properties": {
                "approved": {"type": "boolean"},
                "reason": {"type": "string", "maxLength": 500},
                "answer": {"type": "string"},
            },
        },
    }
    run_id = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}
    paths: dict[str, Any] = {
        "/agents": {
            "get": {
                "operationId": "listAgents",
                "summary": "The agents this key may run",
                "responses": {"200": _json(_ref("AgentList"), "Served agents"), **_errors(401)},
            }
        },
        "/runs": {
            "get": {
                "operationId": "listRuns",
                "summary": "Runs, newest first",
                "parameters": [
                    {"name": "agent", "in": "query", "schema": {"type": "string"}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(RUN_STATUSES)}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    },
                ],
                "responses": {"200": _json(_ref("RunList"), "Runs"), **_errors(400, 401)},
            }
        },
        "/runs/{run_id}": {
            "get": {
                "operationId": "getRun",
                "parameters": [run_id],
                "responses": {"200": _json(_ref("Run"), "The run"), **_errors(401, 403, 404)},
            }
        },
        "/runs/{run_id}/events": {
            "get": {
                "operationId": "streamRunEvents",
                "summary": "Server-Sent Events of the run (resume with the Last-Event-ID header)",
                "parameters": [
                    run_id,
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "description": "Stream the events after this event id",
                        "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    },
                    {
                        "name": "last_event_id",
                        "in": "query",
                        "description": "The same, for clients that cannot set headers (the header wins)",
                        "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "text/event-stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/runs/{run_id}/interrupt": {
            "post": {
                "operationId": "interruptRun",
                "parameters": [run_id],
                "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("Interrupt")}}},
                "responses": {
                    "202": _json(_ref("Run"), "Interrupt requested"),
                    **_errors(400, 401, 403, 404, 409, 413, 422),
                },
            }
        },
        "/runs/{run_id}/responses/{request_id}": {
            "post": {
                "operationId": "answerRequest",
                "parameters": [
                    run_id,
                    {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Response")}}},
                "responses": {
                    "202": _json({"type": "object"}, "Answer delivered"),
                    **_errors(400, 401, 403, 404, 409, 413, 422),
                },
            }
        },
    }
    for name, served in agents.items():
        input_schema = _hoist(served.signature.input_model().model_json_schema(ref_template=REF), components)
        output_schema = _hoist(served.signature.output_model().model_json_schema(ref_template=REF), components)
        body = {
            "type": "object",
            "required": ["inputs"],
            "additionalProperties": False,
            "properties": {"inputs": input_schema},
        }
        result = {
            "allOf": [
                _ref("Run"),
                {"type": "object", "properties": {"result": {"anyOf": [output_schema, {"type": "null"}]}}},
            ]
        }
        operation = {
            "summary": served.description,
            "parameters": [
                {"name": "wait", "in": "query", "schema": {"type": "boolean", "default": False}},
                {"name": "timeout", "in": "query", "schema": {"type": "number", "exclusiveMinimum": 0}},
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": _json(result, "?wait=true: the finished run with its typed result"),
                "202": _json(_ref("Run"), "The run started (its id, to poll or stream)"),
                **_errors(400, 401, 402, 403, 409, 413, 422, 500, 502, 503, 504),
            },
        }
        paths[f"/agents/{name}"] = {
            "get": {
                "operationId": f"describe_{name}",
                "responses": {"200": _json(_ref("Agent"), "The agent"), **_errors(401, 403)},
            }
        }
        paths[f"/agents/{name}/runs"] = {"post": {**operation, "operationId": f"run_{name}"}}
        paths[f"/workflows/{name}"] = {
            "post": {
                **operation,
                "operationId": f"workflow_{name}",
                "description": "Alias of /agents/{name}/runs (the Nexus API path).",
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
