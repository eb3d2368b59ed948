"""HTTP tools (httpx, imported on first call): timeouts, body size cap, http/https only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from kaizen_core.errors import PermissionDeniedError, ToolExecutionError, redact
from kaizen_core.tools.tool import DangerLevel, ToolContext, tool

__all__ = ["http_delete", "http_get", "http_post", "http_put", "check_url", "request"]

Body = dict[str, Any] | list[Any] | str | None


def check_url(url: str) -> str:
    """Refuse anything but absolute http(s) URLs."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise PermissionDeniedError(
            f"URL scheme {parts.scheme or '(none)'!r} refused: only absolute http:// and https:// URLs are allowed"
        )
    return url


async def request(
    method: str,
    url: str,
    context: ToolContext,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    body: Body = None,
) -> dict[str, Any]:
    """Send one request; return status, headers, body text (capped) and ``truncated``."""
    import httpx

    check_url(url)
    kwargs: dict[str, Any] = {"headers": headers, "params": params}
    if isinstance(body, dict | list):
        kwargs["json"] = body
    elif isinstance(body, str):
        kwargs["content"] = body.encode("utf-8")
    cap = context.max_response_bytes
    try:
        async with httpx.AsyncClient(timeout=context.http_timeout, follow_redirects=True, max_redirects=5) as client:
            async with client.stream(method, url, **kwargs) as response:
                check_url(str(response.url))
                chunks: list[bytes] = []
                size = 0
                truncated = False
                async for chunk in response.aiter_bytes():
                    remaining = cap - size
                    if len(chunk) > remaining:
                        chunks.append(chunk[:remaining])
                        truncated = True
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                raw = b"".join(chunks)
                encoding = response.encoding or "utf-8"
                return {
                    "url": redact(str(response.url)),
                    "status": response.status_code,
                    "headers": {k: v for k, v in response.headers.items() if k.lower() not in ("set-cookie",)},
                    "body": raw.decode(encoding, errors="replace"),
                    "truncated": truncated,
                }
    except httpx.TimeoutException as exc:
        raise ToolExecutionError(f"{method} {redact(url)} timed out after {context.http_timeout}s") from exc
    except httpx.HTTPError as exc:
        raise ToolExecutionError(f"{method} {redact(url)} failed: {redact(str(exc))}") from exc


@tool(danger_level=DangerLevel.SAFE, category="http", idempotent=True, read_only=True)
async def http_get(
    url: str, context: ToolContext, headers: dict[str, str] | None = None, params: dict[str, str] | None = None
) -> dict[str, Any]:
    """HTTP GET an http(s) URL; returns status, headers and body text (size-capped)."""
    return await request("GET", url, context, headers=headers, params=params)


@tool(danger_level=DangerLevel.MEDIUM, category="http")
async def http_post(url: str, context: ToolContext, body: Body = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """HTTP POST to an http(s) URL; an object/list body is sent as JSON, a string as-is."""
    return await request("POST", url, context, headers=headers, body=body)


@tool(danger_level=DangerLevel.MEDIUM, category="http", idempotent=True)
async def http_put(url: str, context: ToolContext, body: Body = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """HTTP PUT to an http(s) URL; an object/list body is sent as JSON, a string as-is."""
    return await request("PUT", url, context, headers=headers, body=body)


@tool(danger_level=DangerLevel.HIGH, category="http", idempotent=True)
async def http_delete(url: str, context: ToolContext, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """HTTP DELETE an http(s) URL."""
    return await request("DELETE", url, context, headers=headers)
