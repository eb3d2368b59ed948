"""The kaizen_testing ``llama_server`` fixture serves chat and embeddings on loopback."""

from __future__ import annotations

import importlib.util

import httpx
import pytest

from kaizen_testing.servers import llama as llama_servers
from kaizen_testing.servers._process import ServerUnavailable


def test_server_lists_chat_and_embedding_models(llama_server: llama_servers.LlamaServer) -> None:
    assert llama_server.base_url == f"http://127.0.0.1:{llama_server.port}/v1"
    ids = {m["id"] for m in httpx.get(f"{llama_server.base_url}/models", timeout=10).json()["data"]}
    assert {llama_server.model, llama_server.embedding_model} <= ids


def test_server_chat_completion_with_json_schema(llama_server: llama_servers.LlamaServer) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}}, "required": ["city"]}
    response = httpx.post(
        f"{llama_server.base_url}/chat/completions",
        json={
            "model": llama_server.model,
            "messages": [{"role": "user", "content": "What is the capital of France? Reply in JSON."}],
            "response_format": {"type": "json_object", "schema": schema},
            "max_tokens": 40,
            "temperature": 0,
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    import json

    parsed = json.loads(body["choices"][0]["message"]["content"])
    assert isinstance(parsed["city"], str)
    assert body["usage"]["completion_tokens"] > 0


def test_server_embeddings_have_one_vector_per_input(llama_server: llama_servers.LlamaServer) -> None:
    response = httpx.post(
        f"{llama_server.base_url}/embeddings",
        json={"model": llama_server.embedding_model, "input": ["hello world", "a second, longer sentence here"]},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    vectors = [item["embedding"] for item in response.json()["data"]]
    assert len(vectors) == 2
    assert len(vectors[0]) == len(vectors[1]) > 100
    assert all(isinstance(x, float) for x in vectors[0])


def test_missing_server_package_is_an_error_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    with pytest.raises(ServerUnavailable) as info:
        with llama_servers.run_llama_server():
            pass
    assert "uvicorn" in str(info.value)
    assert "pip install" in str(info.value)
