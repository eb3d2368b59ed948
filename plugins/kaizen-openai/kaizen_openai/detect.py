"""Cheap auto-detection helpers (no httpx): is a local server listening?"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

DOCKER_MODEL_RUNNER_URL = "http://localhost:12434/engines/v1"


def port_open(url: str, timeout: float = 0.2) -> bool:
    """True when a TCP connection to ``url``'s host and port succeeds within ``timeout``."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def docker_model_runner_running() -> bool:
    """Docker Model Runner answers on ``DOCKER_MODEL_RUNNER_URL`` (default localhost:12434)."""
    return port_open(os.environ.get("DOCKER_MODEL_RUNNER_URL", DOCKER_MODEL_RUNNER_URL))
