"""Web tools: fetch a page as text, extract its links. HTML is parsed with html.parser."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from kaizen_core.errors import InputValidationError
from kaizen_core.tools.builtin.http import request
from kaizen_core.tools.tool import DangerLevel, ToolContext, tool

__all__ = ["extract_links", "fetch_url", "html_to_text", "links_from_html"]

_SKIP = {"script", "style", "noscript", "template", "head"}
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre", "table"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP:
            self._skip += 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP and self._skip:
            self._skip -= 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


class _LinkParser(HTMLParser):
    def __init__(self, base_url: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.links: list[dict[str, str]] = []
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base_url is not None:
            href = dict(attrs).get("href")
            if href:
                self.base_url = urljoin(self.base_url, href)
        if tag != "a":
            return
        href = dict(attrs).get("href")
        if not href:
            return
        url = urljoin(self.base_url, href) if self.base_url else href
        self._current = {"url": url, "text": ""}
        self.links.append(self._current)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self._current["text"] = " ".join(self._current["text"].split())
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current["text"] += data


def html_to_text(html: str) -> tuple[str, str]:
    """(title, visible text) of an HTML document."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return " ".join(parser.title.split()), "\n".join(line for line in lines if line)


def links_from_html(html: str, base_url: str | None = None) -> list[dict[str, str]]:
    """Every ``<a href>`` as ``{"url", "text"}``, made absolute against ``base_url``."""
    parser = _LinkParser(base_url)
    parser.feed(html)
    parser.close()
    return parser.links


@tool(danger_level=DangerLevel.SAFE, category="web", idempotent=True, read_only=True)
async def fetch_url(url: str, context: ToolContext, max_chars: int = 20_000) -> dict[str, Any]:
    """Fetch a web page (http/https) and return its title and visible text."""
    response = await request("GET", url, context)
    body = response["body"]
    content_type = response["headers"].get("content-type", "")
    if "html" in content_type or body.lstrip()[:1] == "<":
        title, text = html_to_text(body)
    else:
        title, text = "", body
    return {
        "url": response["url"],
        "status": response["status"],
        "title": title,
        "text": text[:max_chars],
        "truncated": response["truncated"] or len(text) > max_chars,
    }


@tool(danger_level=DangerLevel.SAFE, category="web", idempotent=True, read_only=True)
async def extract_links(
    context: ToolContext, url: str | None = None, html: str | None = None, base_url: str | None = None
) -> list[dict[str, str]]:
    """List the links of a page: give ``url`` to fetch it, or ``html`` (with optional ``base_url``)."""
    if (url is None) == (html is None):
        raise InputValidationError("give exactly one of 'url' or 'html'")
    if url is not None:
        response = await request("GET", url, context)
        html, base_url = response["body"], response["url"]
    links = links_from_html(html or "", base_url)
    return [link for link in links if urlsplit(link["url"]).scheme in ("http", "https", "")]
