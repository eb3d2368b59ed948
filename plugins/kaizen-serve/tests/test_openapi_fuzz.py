"""Fuzz the live server's own ``/openapi.json`` with schemathesis: no 500, no schema violation.

One ``kaizen serve`` process (a single-shot agent and an autonomous one) serves every
operation of the document it publishes. Each operation gets a few generated requests,
valid ones (positive mode) and invalid ones (negative mode), sent with the API key;
every response must pass schemathesis' checks: not a server error, a documented status
code, the documented content type and headers, a body matching the response schema,
and invalid requests refused. Example counts are small and the generation is
derandomized (a fixed seed) so a run is reproducible on a shared 2-core machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from conftest import AGENTS, KEY, QUICKSTART, ServeProcess
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    # impatient.toml: an autonomous agent whose approvals time out at once, so ?wait=true runs end quickly
    process = ServeProcess(tmp_path_factory.mktemp("fuzz"), [QUICKSTART, AGENTS / "impatient.toml"])
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def schema(server: ServeProcess) -> Any:
    loaded = schemathesis.openapi.from_url(f"{server.url}/openapi.json", headers={"Authorization": f"Bearer {KEY}"})
    loaded.config.update(base_url=server.url)
    # The key is sent by the test (401s are tested in test_runs_live), so generation leaves the
    # Authorization header alone; and unknown query parameters are ignored by design (as most
    # HTTP APIs do, for forward compatibility), so negative cases do not invent them.
    loaded.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    return loaded


def operations(schema: Any) -> list[Any]:
    found = [result.ok() for result in schema.get_all_operations()]
    assert found, "the OpenAPI document lists no operations"
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_every_operation_answers_within_its_schema(schema: Any, server: ServeProcess, mode: GenerationMode) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    failures: list[str] = []
    tested: list[str] = []
    for operation in operations(schema):

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            case.call_and_validate(base_url=server.url, headers=auth, timeout=30)

        try:
            check()
            tested.append(operation.label)
        except Unsatisfiable:
            # Negative mode only: nothing in this operation can be made invalid (no parameters
            # or body beyond the key, or free-form strings such as a run id).
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # collect every operation's failure, then fail once with all of them
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    # The run endpoints have bodies and typed query parameters: they always get cases.
    assert {"POST /agents/quickstart-qa/runs", "GET /runs"} <= set(tested), tested


def test_the_document_covers_the_run_api(schema: Any, server: ServeProcess) -> None:
    from openapi_spec_validator import validate

    with server.client() as client:
        validate(client.get("/openapi.json").json())  # a valid OpenAPI 3.1 document (raises otherwise)
    labels = {operation.label for operation in operations(schema)}
    for expected in (
        "POST /agents/quickstart-qa/runs",
        "POST /workflows/impatient",
        "GET /runs",
        "GET /runs/{run_id}",
        "GET /runs/{run_id}/events",
        "POST /runs/{run_id}/interrupt",
        "POST /runs/{run_id}/responses/{request_id}",
    ):
        assert expected in labels, (expected, sorted(labels))
