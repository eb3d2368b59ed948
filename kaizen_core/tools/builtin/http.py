"""HTTP tools (httpx, imported on first call): address policy, checked redirects, timeouts, body cap.

Every request goes through :func:`request`, and every URL it touches - the first one
and each redirect target, *before* it is followed - through
:func:`kaizen_core.tools.netpolicy.check_url`: http/https only, and no internal
addresses unless ``ToolContext.allowed_hosts`` names the host. The connection is made
to the address that was checked (the URL's host is kept for the ``Host`` header and for
TLS: SNI and certificate verification), so the name cannot be re-resolved to another
address in between. Proxy settings from the environment (``HTTP_PROXY``...) are
ignored: a proxy would resolve the name itself, out of reach of the check.
"""

from __future__ import annotations

from typing import Any

from kaizen_core.errors import PermissionDeniedError, ToolExecutionError
from kaizen_core.redaction import redact
from kaizen_core.tools.netpolicy import CheckedURL, check_url
from kaizen_core.tools.tool import DangerLevel, ToolContext, tool

__all__ = ["check_url", "http_delete", "http_get", "http_post", "http_put", "request"]

Body = dict[str, Any] | list[Any] | str | None

_REDIRECTS = (301, 302, 303, 307, 308)
# headers that must not follow a redirect to another origin (httpx's own rule, kept by hand here)
_ORIGIN_BOUND = ("authorization", "cookie", "proxy-authorization")


def _origin(checked: CheckedURL) -> tuple[str, str, int]:
    return checked.scheme, checked.host, checked.port


async def request(
    method: str,
    url: str,
    context: ToolContext,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    body: Body = None,
) -> dict[str, Any]:
    """Send one request, following at most ``context.max_redirects`` checked redirects.

    Returns the final URL, status, headers (no ``set-cookie``), body text (capped at
    ``max_response_bytes``) and ``truncated``. A refused URL or redirect raises
    EXEC_005 before anything is sent to it.
    """
    import httpx

    try:  # the raw text is checked first: httpx would reject some refused URLs with its own error
        checked = await _check(url, context)
    except TimeoutError as exc:
        raise ToolExecutionError(f"{method} {redact(url)}: resolving the host took over {context.http_timeout}s") from exc
    current = httpx.URL(url)
    if params:  # query parameters change neither the host nor the port
        current = current.copy_merge_params(params)
    send_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
    content: dict[str, Any] = {}
    if isinstance(body, dict | list):
        content["json"] = body
    elif isinstance(body, str):
        content["content"] = body.encode("utf-8")
    cap = context.max_response_bytes
    try:
        async with httpx.AsyncClient(timeout=context.http_timeout, follow_redirects=False, trust_env=False) as client:
            for hop in range(context.max_redirects + 1):
                pinned = current.copy_with(scheme=checked.scheme, host=checked.address, port=checked.port)
                extensions = {} if checked.host_is_ip else {"sni_hostname": checked.host}
                outgoing = client.build_request(
                    method,
                    pinned,
                    headers={**send_headers, "Host": checked.host_header},
                    extensions=extensions,
                    **content,
                )
                response = await client.send(outgoing, stream=True)
                location = response.headers.get("location")
                if response.status_code not in _REDIRECTS or location is None:
                    try:
                        return await _read(response, str(current), cap)
                    finally:
                        await response.aclose()
                await response.aclose()
                if hop == context.max_redirects:
                    raise ToolExecutionError(
                        f"{method} {redact(str(current))}: more than {context.max_redirects} redirects",
                        hint="raise ToolContext.max_redirects or request the final URL",
                    )
                target = current.join(location)
                try:
                    following = await _check(str(target), context)
                except PermissionDeniedError as exc:
                    raise PermissionDeniedError(
                        f"redirect from {redact(str(current))} not followed: {exc.message}", hint=exc.hint
                    ) from exc
                # the method and body change as browsers (and httpx) do
                if (response.status_code == 303 and method != "HEAD") or (
                    response.status_code in (301, 302) and method == "POST"
                ):
                    method, content = "GET", {}
                if _origin(following) != _origin(checked):
                    send_headers = {k: v for k, v in send_headers.items() if k.lower() not in _ORIGIN_BOUND}
                current, checked = target, following
    except httpx.TimeoutException as exc:
        raise ToolExecutionError(f"{method} {redact(str(current))} timed out after {context.http_timeout}s") from exc
    except httpx.HTTPError as exc:
        raise ToolExecutionError(f"{method} {redact(str(current))} failed: {redact(str(exc))}") from exc
    except TimeoutError as exc:  # name resolution past http_timeout
        raise ToolExecutionError(f"{method} {redact(str(current))} timed out after {context.http_timeout}s") from exc
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


async def _check(url: str, context: ToolContext) -> CheckedURL:
    import anyio

    with anyio.fail_after(context.http_timeout):
        return await check_url(url, context.allowed_hosts)


async def _read(response: Any, url: str, cap: int) -> dict[str, Any]:
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
        "url": redact(url),
        "status": response.status_code,
        "headers": {k: v for k, v in response.headers.items() if k.lower() not in ("set-cookie",)},
        "body": raw.decode(encoding, errors="replace"),
        "truncated": truncated,
    }


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
