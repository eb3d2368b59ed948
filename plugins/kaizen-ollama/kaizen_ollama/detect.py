"""Cheap auto-detection (no httpx): is an Ollama server listening on OLLAMA_HOST?"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

DEFAULT_HOST = "http://localhost:11434"


def ollama_url(host: str | None = None) -> str:
    """Normalise ``OLLAMA_HOST`` forms (``host``, ``host:port``, ``0.0.0.0``, full URLs) to a URL."""
    value = (host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST).strip().rstrip("/")
    has_scheme = "://" in value
    parts = urlsplit(value if has_scheme else f"http://{value}")
    hostname = parts.hostname or "localhost"
    if hostname in ("0.0.0.0", "::"):
        hostname = "localhost"
    port = parts.port or (None if has_scheme and parts.scheme == "https" else 11434)
    netloc = f"{hostname}:{port}" if port else hostname
    return f"{parts.scheme}://{netloc}{parts.path}"


def ollama_running(timeout: float = 0.2) -> bool:
    """True when a TCP connection to the Ollama host succeeds."""
    parts = urlsplit(ollama_url())
    try:
        default_port = 443 if parts.scheme == "https" else 11434
        with socket.create_connection((parts.hostname or "localhost", parts.port or default_port), timeout=timeout):
            return True
    except OSError:
        return False
