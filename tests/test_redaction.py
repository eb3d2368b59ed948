"""redact(): secret-shaped text, the process's known secrets (registered and from the environment)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from kaizen_core import errors, redaction
from kaizen_core.redaction import forget_secrets, known_secrets, redact, register_secret

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GHP = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
GHO = "gho_" + "Z9y8X7w6V5u4T3s2R1q0" * 2
PAT = "github_pat_11ABCDEFG0" + "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJ0123456789" * 2
XOXB = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
XOXP = "xoxp-123456789012-1234567890123-1234567890123-0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def test_errors_module_keeps_exporting_redact() -> None:
    assert errors.redact is redaction.redact


@pytest.mark.parametrize(
    "text, secret",
    [
        (f"Authorization: Basic {base64.b64encode(b'alice:wonderland-42').decode()}", "d29uZGVybGFuZC"),
        (f'{{"Authorization": "Basic {base64.b64encode(b"bob:pw").decode()}"}}', base64.b64encode(b"bob:pw").decode()),
        (f"curl -H 'authorization: basic {base64.b64encode(b'u:secretive').decode()}'", "OnNlY3JldGl2ZQ"),
        ("redis://user:p@ss@cache.internal/0", "p@ss"),
        ("postgresql://app:s3cr@t@w0rd@db:5432/x", "s3cr@t@w0rd"),
        ("https://user:hunter2secret@example.com/path", "hunter2secret"),
        ("redis://:onlypassword@host:6379", "onlypassword"),
        (f"aws_secret_access_key={AWS_SECRET}", AWS_SECRET),
        (f"AWS_SECRET_ACCESS_KEY = {AWS_SECRET}", AWS_SECRET),
        (f'{{"aws_secret_access_key": "{AWS_SECRET}"}}', AWS_SECRET),
        (f"{AWS_ID},{AWS_SECRET}", AWS_SECRET),
        (f"{AWS_ID}:{AWS_SECRET}", AWS_SECRET),
        (f"key id {AWS_ID} in use", "IOSFODNN7EXAMPLE"),
        (f"token is {GHP}.", GHP[4:]),
        (f"oauth {GHO}", GHO[4:]),
        (f"fine-grained {PAT} ok", PAT[11:]),
        (f"slack bot {XOXB}", XOXB[5:]),
        (f"slack user {XOXP}", XOXP[5:]),
        ("OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234", "abcdefghijklmnop1234"),
        ("key sk-ant-api03-abcdefghijklmnop", "abcdefghijklmnop"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ('{"password": "correct horse battery"}', "correct horse battery"),
        ("x-api-key: abcdef123456", "abcdef123456"),
        ("google AIzaSyA1234567890abcdefghijklmnopqrstuv", "SyA1234567890abcdefghijklmnopqrstuv"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA"),
    ],
)
def test_secret_shapes_are_removed(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out, out
    assert "***" in out


def test_url_password_with_at_keeps_user_and_host() -> None:
    assert redact("redis://user:p@ss@host/0") == "redis://user:***@host/0"
    assert redact("see redis://u:a@b@c@host:1/2 and http://plain.example/x") == (
        "see redis://u:***@host:1/2 and http://plain.example/x"
    )


def test_aws_pair_keeps_id_prefix_only() -> None:
    assert redact(f"{AWS_ID},{AWS_SECRET}") == "AKIA***,***"


@pytest.mark.parametrize(
    "text",
    [
        "a basic understanding of the problem",
        "the weather in Paris is 20C",
        '{"total_tokens": 120, "prompt_tokens": 100, "max_tokens": 512}',
        "task-management-system and risk-assessment",
        "https://example.com/path?q=1",
        "email alice@example.com",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text) == text


def test_registered_secret_is_removed_everywhere_including_json_escaped() -> None:
    weird = 'pa"ss\\word-Ünïcode'
    register_secret("no-shape-at-all-42", weird, None, "", "short")
    assert "short" not in known_secrets()  # under MIN_SECRET_LENGTH: would shred text
    text = "value no-shape-at-all-42 and " + json.dumps({"v": weird})
    out = redact(text)
    assert "no-shape-at-all-42" not in out
    assert json.dumps(weird)[1:-1] not in out
    assert out.count("***") == 2


def test_explicit_secrets_argument_still_works() -> None:
    assert redact("user abcd logged in", secrets=["abcd", None]) == "user *** logged in"


def test_environment_secrets_are_known_and_refreshed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_API_KEY", "acme-key-0000-first")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-value-123456")
    monkeypatch.setenv("DB_PASSWORD", "plain-pass-9")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:url-pass-77@db/x")
    monkeypatch.setenv("FEATURE_TOKEN_ENABLED", "true")  # secret-looking name, not a secret value
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false-but-long")  # not a secret name
    text = "acme-key-0000-first tok-value-123456 plain-pass-9 url-pass-77 true false-but-long"
    assert redact(text) == "*** *** *** *** true false-but-long"
    # a value changed later in the run is picked up (the cache re-validates)
    monkeypatch.setenv("ACME_API_KEY", "acme-key-1111-second")
    assert redact("now acme-key-1111-second") == "now ***"
    # and a variable added later
    monkeypatch.setenv("OTHER_SECRET", "brand-new-secret-value")
    assert "brand-new-secret-value" in known_secrets()


def test_import_kaizen_core_stays_cheap() -> None:
    code = "import sys, kaizen_core, kaizen_core.redaction; print(sorted(m for m in ('httpx','detect_secrets','requests') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_logged_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """A failing lifecycle hook whose exception text holds a key: the log (traceback included) does not."""
    import logging

    import anyio

    from kaizen_core.hooks import HookEvent, HookManager

    secret = "sk-live-traceback-0123456789abcdef"

    def leaky(context: object) -> None:
        raise RuntimeError(f"upstream said api_key={secret}")

    hooks = HookManager()
    hooks.register(HookEvent.PRE_AGENT_LOOP, leaky)
    with caplog.at_level(logging.WARNING):
        anyio.run(lambda: hooks.trigger(HookEvent.PRE_AGENT_LOOP, agent_id="a"))
    text = caplog.text
    assert "RuntimeError" in text and "Traceback" in text  # the traceback is still there...
    assert secret not in text  # ...without the secret
