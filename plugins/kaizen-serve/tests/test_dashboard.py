"""The dashboard's files and their HTTP contract (the browser test drives the page itself)."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from conftest import QUICKSTART

STATIC = resources.files("kaizen_serve.dashboard").joinpath("static")


def test_the_script_never_parses_data_as_html() -> None:
    script = re.sub(r"//.*", "", STATIC.joinpath("dashboard.js").read_text())  # code, not comments
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    # The key travels in a header only: never in a URL (EventSource would need one).
    assert "EventSource" not in script
    assert "sessionStorage" in script and "localStorage" not in script
    html = STATIC.joinpath("index.html").read_text()
    assert "<script>" not in html and " on" not in re.sub(r"<template.*?</template>", "", html, flags=re.S).lower()


def test_the_page_is_public_and_locked_down_while_the_api_is_not(serve: Any) -> None:
    server = serve(QUICKSTART)
    with server.client(key=None) as anonymous:
        page = anonymous.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        for name, media in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
            asset = anonymous.get(f"/dashboard/static/{name}")
            assert asset.status_code == 200 and asset.headers["content-type"].startswith(media)
        assert anonymous.get("/dashboard/static/app.py").status_code == 404  # a fixed list of files
        assert anonymous.get("/dashboard/static/index.html").status_code == 404
        # "/" is public as an exact path: it opens no other path.
        for path in ("/runs", "/agents", "/openapi.json", "/agents/quickstart-qa/.well-known/agent-card.json"):
            assert anonymous.get(path).status_code == 401, path
    with server.client() as client:
        assert client.get("/runs").status_code == 200
