"""The web dashboard: a few static files served at ``/`` and ``/dashboard/static/``.

The page holds no data: it is the same bytes for everyone, so it is served without
an API key (the key is typed into the page, kept in the tab's ``sessionStorage`` and
sent as ``Authorization: Bearer`` on every API call it makes). Everything it shows
comes from the JSON API and the run event stream, inserted with ``textContent``
only, and a strict Content-Security-Policy (no inline script, no other origin, no
framing) backs that up.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

__all__ = ["DASHBOARD_FILES", "routes"]

# name -> media type; nothing else under static/ is ever served (no path from the URL
# reaches the filesystem).
DASHBOARD_FILES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def routes(ctx: Any) -> list[Any]:
    """The dashboard's routes (the app's extension point, ``kaizen_serve.app.EXTENSIONS``).

    ``/`` and the assets are public: they are data-free and the page must load before a
    key can be typed into it. Every call the page makes goes through the normal,
    authenticated API.
    """
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    cache = {name: _read(name) for name in DASHBOARD_FILES}
    ctx.public_paths.extend(["/", "/dashboard/static/"])

    def serve(name: str) -> Response:
        return Response(cache[name], media_type=DASHBOARD_FILES[name], headers=SECURITY_HEADERS)

    async def index(request: Request) -> Response:
        return serve("index.html")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in DASHBOARD_FILES or name == "index.html":
            from kaizen_serve.errors import HTTPError

            raise HTTPError.not_found(f"dashboard file {name!r}")
        return serve(name)

    return [
        Route("/", index, methods=["GET"], include_in_schema=False),
        Route("/dashboard/static/{name}", asset, methods=["GET"], include_in_schema=False),
    ]
