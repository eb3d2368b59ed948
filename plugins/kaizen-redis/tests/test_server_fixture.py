"""The redis_server fixture: a missing redis-server is a test failure with a hint, never a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kaizen_testing.servers.redis import RedisServer


def test_missing_redis_server_fails_with_install_hint(tmp_path: Path) -> None:
    (tmp_path / "test_needs_redis.py").write_text("def test_uses_server(redis_server):\n    assert redis_server.url\n")
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    # no redis-server anywhere on PATH; load only kaizen's pytest plugin (fast start)
    args = ["-q", "-p", "no:cacheprovider", "-p", "kaizen_testing.pytest_plugin", "test_needs_redis.py"]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0
    assert "install-system-deps.sh" in out.stdout
    assert "1 error" in out.stdout and "skipped" not in out.stdout


def test_fixture_server_is_real_and_restartable(redis_server: RedisServer) -> None:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.set("kaizen-fixture-check", b"1")
    redis_server.restart()  # SIGKILL + start: AOF keeps acknowledged writes
    client = redis.Redis.from_url(redis_server.url)
    assert client.get("kaizen-fixture-check") == b"1"
    client.delete("kaizen-fixture-check")
    client.close()
