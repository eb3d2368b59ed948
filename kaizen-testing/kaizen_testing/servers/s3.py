"""``s3_server``: moto's S3 server mode on a free loopback port (a real HTTP S3 endpoint).

``moto_server -H 127.0.0.1 -p PORT`` runs in a child process; the fixture sets the
usual AWS environment variables to dummy credentials (for the session) and creates a
bucket. ``.url`` is ``s3://BUCKET/kaizen-tests`` and ``.endpoint_url`` the HTTP
endpoint to pass as the ``endpoint_url`` option (or ``AWS_ENDPOINT_URL``).

moto keeps objects in memory. With ``persist=True`` (see :func:`run_s3_server`) the
server records every request to a file and :meth:`S3Server.start` replays it after a
:meth:`S3Server.kill`, so a killed-and-restarted endpoint still holds what was written
before, like a real S3 service after an outage. Keep persistent servers for sequential
tests: the recorder is not meant for heavy concurrency.

A missing ``moto_server`` is a test failure with an install hint, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaizen_testing.servers._process import (
    LoopbackServer,
    ServerUnavailable,
    free_port,
    run_in_tempdir,
    serve_or_fail,
)

__all__ = ["AWS_TEST_ENV", "S3Server", "run_s3_server", "s3_server"]

INSTALL_HINT = "pip install 'kaizen-testing[s3]'  (moto[server])"
DEFAULT_BUCKET = "kaizen-test-bucket"
#: Dummy credentials: moto accepts anything; real AWS must never be reached by tests.
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAKAIZENTESTKEY000",
    "AWS_SECRET_ACCESS_KEY": "kaizen-s3-secret-9f3a/dummy+credential",
    "AWS_SESSION_TOKEN": "kaizen-test-session-token",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _moto_program() -> list[str]:
    exe = Path(sys.executable).with_name("moto_server")
    if exe.is_file():
        return [str(exe)]
    try:
        import importlib.util

        if importlib.util.find_spec("moto.server") is not None and importlib.util.find_spec("flask") is not None:
            return [sys.executable, "-m", "moto.server"]
    except ModuleNotFoundError:
        pass
    raise ServerUnavailable(f"moto's server mode is not installed: {INSTALL_HINT}")


class S3Server(LoopbackServer):
    """A moto S3 endpoint. ``endpoint_url`` is ``http://127.0.0.1:PORT``.

    After :meth:`kill` (SIGKILL), :meth:`start` brings it back empty unless ``persist``.
    """

    def __init__(
        self, directory: Path, *, bucket: str = DEFAULT_BUCKET, port: int | None = None, persist: bool = False
    ) -> None:
        self.program = _moto_program()
        self.directory = directory
        self.bucket = bucket
        self.port = port or free_port()
        self.persist = persist
        self.recording = directory / "moto-recording.jsonl"
        self.log = directory / "moto.log"
        self._bucket_created = False

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/kaizen-tests"

    def client(self) -> object:
        """A boto3 S3 client for this endpoint (boto3 imported here, on demand)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=AWS_TEST_ENV["AWS_DEFAULT_REGION"],
            aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def create_bucket(self, name: str) -> str:
        """Create another bucket on this endpoint; returns its ``s3://`` URL."""
        self.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
        return f"s3://{name}/kaizen-tests"

    def _moto_api(self, path: str) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/{path}", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()

    def start(self) -> None:
        """Start (or restart after :meth:`kill`); replays the recording when ``persist``."""
        if self.running:
            return
        env = {**os.environ, **AWS_TEST_ENV}
        if self.persist:
            env.update({"MOTO_ENABLE_RECORDING": "True", "MOTO_RECORDER_FILEPATH": str(self.recording)})
        self._spawn([*self.program, "-H", "127.0.0.1", "-p", str(self.port)], what="moto_server", timeout=60, env=env)
        if not self._bucket_created:
            self.create_bucket(self.bucket)
            self._bucket_created = True
        elif self.persist and self.recording.exists():
            self._moto_api("recorder/replay-recording")
        else:
            self.create_bucket(self.bucket)


@contextlib.contextmanager
def aws_test_env() -> Iterator[None]:
    """Set the AWS environment variables to dummy credentials; restore them on exit."""
    saved = {key: os.environ.get(key) for key in AWS_TEST_ENV}
    os.environ.update(AWS_TEST_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def run_s3_server(*, bucket: str = DEFAULT_BUCKET, persist: bool = False) -> Iterator[S3Server]:
    """Start moto's S3 server with a bucket and dummy AWS env vars; stop it on exit."""
    with aws_test_env(), run_in_tempdir(
        "kaizen-s3-", lambda directory: S3Server(directory, bucket=bucket, persist=persist)
    ) as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 endpoint (moto) for the session: ``.url``, ``.endpoint_url``, ``.bucket``, ``.kill()``."""
    yield from serve_or_fail(run_s3_server)
