"""kaizen-ray passes the standard executor suite unchanged, on the real two-node cluster."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen_testing.executor_suite import ExecutorSuite


class TestRayExecutor(ExecutorSuite):
    @pytest.fixture
    def executor(self, executor: Any) -> Any:  # the session pool of conftest.py
        return executor
