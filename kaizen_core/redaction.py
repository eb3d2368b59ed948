"""Secret redaction: one function, :func:`redact`, used for every text that leaves the process.

Error messages, log lines, and everything a tool returns to the model (and therefore to
journals and checkpoints, see :meth:`kaizen_core.tools.ToolResult.to_content`) go
through :func:`redact`. It removes two kinds of secret:

* **Known secrets**: exact values this process knows are secret. They come from
  :func:`register_secret` (a provider registers its API key, an application its
  database password) and from the environment: the values of variables whose names
  look secret (``*_API_KEY``, ``*_TOKEN``, ``*SECRET*``, ``*PASSWORD*``, ...,
  see :data:`SECRET_ENV_NAME`) and the passwords of URLs held in any variable
  (``DATABASE_URL=postgresql://u:pw@db/x``). The environment is read on first use and
  cached; the cache is re-validated cheaply on every call, so a key set with
  ``os.environ[...] = ...`` later in the run is still removed.
* **Secret-shaped text**: URL passwords (also passwords containing ``@``: the password
  runs to the *last* ``@`` of the authority), ``Authorization: Basic/Bearer ...``,
  ``key=value`` pairs whose key names a secret (``api_key``, ``aws_secret_access_key``,
  ``password``, ``token``...), AWS access key ids and the 40-character secret that
  follows one, GitHub (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``),
  Slack (``xoxb-``, ``xoxp-``...), Google (``AIza...``), Hugging Face (``hf_...``),
  ``sk-``/``pk-``/``rk-`` keys and PEM private-key blocks.

Redaction is best effort for the second kind: a secret with no recognisable shape
and no registration passes through. Register what you know.

Why not a detector library: detect-secrets 1.5 (the best-kept candidate) was measured
at ~180 ms to import (it pulls in requests and PyYAML), 0.4-4 ms per line scanned, and
it is built to flag candidate lines in repositories, not to cut secrets out of a text:
its GitHub plugin reports only the ``ghp`` prefix as the secret value, it misses URL
passwords containing ``@`` and ``Authorization: Basic``, and its entropy plugins flag
ordinary words ("hello", "Paris"). A short, tested pattern list plus exact known
secrets is cheaper and more precise for this job. See docs/tools.md.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

__all__ = [
    "MASK",
    "SECRET_ENV_NAME",
    "forget_secrets",
    "known_secrets",
    "redact",
    "redacted_traceback",
    "register_secret",
]

#: what every secret is replaced with
MASK = "***"

#: shortest value kept as a known secret: shorter ones ("1", "true") would shred any text
MIN_SECRET_LENGTH = 6

if TYPE_CHECKING:
    #: environment variable names whose values are secrets (matched against the upper-cased name)
    SECRET_ENV_NAME: re.Pattern[str]


@functools.cache
def _secret_env_name() -> re.Pattern[str]:
    # ``SECRET_ENV_NAME``, compiled on first use (module ``__getattr__`` below): a process that
    # never redacts (a plain agent run) does not pay for the compile (~1.2M instructions).
    return re.compile(
        r"(?:^|_)(?:API_?KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY|TOKEN|PASS|PASSWD)(?:_|$)|(?:^|_)KEY$|SECRET|PASSWORD"
    )


def __getattr__(name: str) -> Any:
    if name == "SECRET_ENV_NAME":
        value = globals()[name] = _secret_env_name()
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "SECRET_ENV_NAME"})


# values of secret-named variables that are obviously not secrets
_NOT_SECRETS = frozenset({"true", "false", "none", "null", "enabled", "disabled", "undefined"})

# --- secret-shaped text -----------------------------------------------------------------------
# Compiled on first use (functools.cache): compiling them costs ~3 ms that `import kaizen_core`
# should not pay.
_SECRET_KEY_NAME = (
    r"api[_-]?key|apikey|x-api-key|x-goog-api-key|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?access)?(?:[_-]?key)?"
    r"|client[_-]?secret|private[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|token|password|passwd"
    r"|authorization"
)


@functools.cache
def _url_password() -> re.Pattern[str]:
    # scheme://user:password@host - the password runs to the LAST '@' of the authority, so
    # redis://u:p@ss@host/0 loses "p@ss". The authority ends at / ? # whitespace, quotes, brackets.
    return re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/?#@\s\"'<>]*):(?P<pw>[^/?#\s\"'<>]+)@")


@functools.cache
def _rules() -> tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]:
    """(pattern, replacement) in the order they are applied."""
    return (
        (
            re.compile(r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END (?P=kind)-----|\Z)", re.DOTALL),
            lambda m: f"-----BEGIN {m['kind']}-----{MASK}-----END {m['kind']}-----",
        ),
        (_url_password(), lambda m: f"{m['scheme']}{m['user']}:{MASK}@"),
        # an AWS access key id followed (CSV line, credentials file, "id:secret") by its 40-char secret
        (
            re.compile(r"\b((?:AKIA|ASIA)[A-Z0-9]{16})([\s\"',:;=|]{1,8})([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"),
            lambda m: f"{m[1][:4]}{MASK}{m[2]}{MASK}",
        ),
        # key: value / key=value / "key": "value" (a quoted value may contain spaces)
        (
            re.compile(
                rf"(?i)(?P<k>(?:{_SECRET_KEY_NAME})[\"']?\s*[:=]\s*(?P<q>[\"'])?(?:(?:bearer|basic|token|digest)\s+)?)"
                r"(?P<v>(?(q)[^\"'\n]+|[^\s\"',&}]+))"
            ),
            lambda m: m["k"] + MASK,
        ),
        (re.compile(r"(?i)\b(basic\s+)([A-Za-z0-9+/]{6,}={0,2})"), _basic_sub),
        (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/\-]{8,}=*"), lambda m: m[1] + MASK),
        (
            re.compile(r"\b((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16})\b"),
            lambda m: m[1][:4] + MASK,
        ),
        (
            re.compile(
                r"\b(gh[pousr]_)[A-Za-z0-9]{20,}"  # GitHub classic tokens
                r"|\b(github_pat_)[A-Za-z0-9_]{20,}"  # GitHub fine-grained tokens
                r"|\b(xox[abposre]-)[A-Za-z0-9-]{8,}"  # Slack
                r"|\b(AIza)[0-9A-Za-z_\-]{30,}"  # Google API keys
                r"|\b(hf_)[A-Za-z0-9]{30,}"  # Hugging Face
                r"|\b((?:sk|pk|rk)-)[A-Za-z0-9_\-]{8,}"  # OpenAI, Anthropic (sk-ant-), Stripe...
            ),
            _token_sub,
        ),
    )


def _token_sub(m: re.Match[str]) -> str:
    prefix = next(g for g in m.groups() if g is not None)
    return prefix + MASK


def _basic_sub(m: re.Match[str]) -> str:
    # "Basic <b64>" is only a credential when it decodes to "user:password": don't eat
    # the next word of "a basic understanding"
    import base64
    import binascii

    try:
        decoded = base64.b64decode(m[2] + "=" * (-len(m[2]) % 4), validate=True)
    except (binascii.Error, ValueError):
        return m[0]
    return f"{m[1]}{MASK}" if b":" in decoded else m[0]


# --- known secrets ----------------------------------------------------------------------------
_lock = threading.Lock()
_registered: set[str] = set()
# environment cache: (len(os.environ), {name: value} of the variables it was built from, secrets)
_env_cache: tuple[int, dict[str, str], frozenset[str]] | None = None


def register_secret(*values: str | None) -> None:
    """Add values this process must never show (an API key, a password). Empty or short ones are ignored.

    Values shorter than ``MIN_SECRET_LENGTH`` (6) characters are ignored: replacing
    every "1" or "true" would destroy the text. ``redact`` removes registered values
    everywhere, also in their JSON-escaped form.
    """
    with _lock:
        for value in values:
            if _usable(value):
                assert value is not None
                _registered.add(value)


def forget_secrets(*values: str) -> None:
    """Remove registered values (all of them when called with none). Tests use it to isolate state."""
    global _env_cache
    with _lock:
        if values:
            _registered.difference_update(values)
        else:
            _registered.clear()
        _env_cache = None


def known_secrets() -> frozenset[str]:
    """Every value :func:`redact` removes exactly: registered ones plus those found in the environment."""
    with _lock:
        return frozenset(_registered) | _env_secrets()


def _usable(value: str | None) -> bool:
    return bool(value) and len(value or "") >= MIN_SECRET_LENGTH and (value or "").lower() not in _NOT_SECRETS


def _env_secrets() -> frozenset[str]:
    """Secrets from os.environ, cached; rebuilt when a watched variable changes or the size does. Lock held."""
    global _env_cache
    environ = os.environ
    cache = _env_cache
    if cache is not None and cache[0] == len(environ) and all(environ.get(k) == v for k, v in cache[1].items()):
        return cache[2]
    watched: dict[str, str] = {}
    found: set[str] = set()
    secret_name = _secret_env_name()
    for name, value in environ.items():
        if secret_name.search(name.upper()):
            watched[name] = value
            if _usable(value):
                found.add(value)
        if "://" in value and "@" in value:  # a URL with a password, in any variable (DATABASE_URL...)
            for m in _url_password().finditer(value):
                watched[name] = value
                for pw in {m["pw"], unquote(m["pw"])}:
                    if _usable(pw):
                        found.add(pw)
    secrets = frozenset(found)
    _env_cache = (len(environ), watched, secrets)
    return secrets


def _variants(secret: str) -> Iterable[str]:
    import json

    yield secret
    escaped = json.dumps(secret)[1:-1]  # as it appears inside JSON text (quotes, backslashes, \uXXXX)
    if escaped != secret:
        yield escaped


# --- the one function -------------------------------------------------------------------------
def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with every secret replaced by ``***``.

    Removes the process's known secrets (:func:`known_secrets`), the extra ``secrets``
    given (4 characters or longer), and secret-shaped text (see the module docstring).
    Safe on any text; used for errors, logs and tool output.
    """
    if not text:
        return text
    exact = {s for s in secrets if s and len(s) >= 4} | known_secrets()
    # longest first, so a secret containing another is removed whole
    for secret in sorted(exact, key=len, reverse=True):
        for form in _variants(secret):
            if form in text:
                text = text.replace(form, MASK)
    for pattern, replacement in _rules():
        text = pattern.sub(replacement, text)
    return text


def redacted_traceback(exc: BaseException) -> str:
    """The formatted traceback of ``exc``, redacted: what Kaizen logs instead of ``exc_info=exc``
    (a logging formatter would print the exception's raw text, secrets included)."""
    import traceback

    return redact("".join(traceback.format_exception(exc)).rstrip())
