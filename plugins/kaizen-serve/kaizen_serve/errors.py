"""Coded JSON errors: every error answer is ``{"error": {"code", "type", "message", "hint"}}``.

The codes are Kaizen's (docs/errors.md): EXEC_001 for a request that is not valid
(unknown agent or run, bad JSON, invalid inputs, a body too large), EXEC_005 for a
missing or refused API key, EXEC_003 for a server limit or an internal failure. A
non-Kaizen exception never reaches the client: it is logged (redacted) and answered
with a generic EXEC_003. Messages pass through :func:`kaizen_core.redaction.redact`.
"""

from __future__ import annotations

import logging
from typing import Any

from kaizen_core.errors import InputValidationError, KaizenError, PermissionDeniedError, RuntimeExecutionError
from kaizen_core.redaction import redact, redacted_traceback

__all__ = ["HTTPError", "error_body", "error_response", "status_for", "status_for_code"]

logger = logging.getLogger("kaizen.serve")


class HTTPError(Exception):
    """A Kaizen error with the HTTP status it is answered with."""

    def __init__(self, status: int, error: KaizenError, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(error))
        self.status = status
        self.error = error
        self.headers = headers or {}

    @classmethod
    def not_found(cls, what: str) -> HTTPError:
        return cls(404, InputValidationError(f"{what} not found"))

    @classmethod
    def bad_request(cls, message: str, *, status: int = 400, hint: str | None = None) -> HTTPError:
        return cls(status, InputValidationError(message, hint=hint))

    @classmethod
    def unauthorized(cls, message: str = "missing or invalid API key") -> HTTPError:
        return cls(
            401,
            PermissionDeniedError(message, hint="send the header 'Authorization: Bearer <key>'"),
            {"WWW-Authenticate": 'Bearer realm="kaizen"'},
        )

    @classmethod
    def forbidden(cls, message: str) -> HTTPError:
        return cls(403, PermissionDeniedError(message))

    @classmethod
    def limit(cls, message: str, status: int = 503) -> HTTPError:
        return cls(status, RuntimeExecutionError(message, hint="try again later"))


#: HTTP status of a Kaizen error raised by a run (by code).
_STATUS = {
    "EXEC_001": 422,  # invalid input
    "EXEC_005": 403,  # permission denied
    "EXEC_006": 402,  # budget exceeded
    "INTERRUPT_003": 409,  # interrupted
    "AGENT_003": 504,  # the model call timed out
    "AGENT_004": 502,  # the model's backend failed
}


def status_for_code(code: str) -> int:
    """The HTTP status a run's error of Kaizen ``code`` is answered with (500 by default)."""
    return _STATUS.get(code, 500)


def status_for(error: KaizenError) -> int:
    return status_for_code(error.code)


def error_body(error: BaseException, **extra: Any) -> dict[str, Any]:
    """The JSON body for ``error``: a KaizenError as its ``to_dict()``, anything else as a generic EXEC_003."""
    if isinstance(error, HTTPError):
        error = error.error
    if isinstance(error, KaizenError):
        body = error.to_dict()
    else:
        logger.error("internal error %s\n%s", type(error).__name__, redacted_traceback(error))
        body = RuntimeExecutionError("internal server error", hint="see the server log").to_dict()
    body["message"] = redact(body.get("message") or "")
    body.update(extra)
    return {"error": body}


def error_response(error: BaseException, status: int | None = None, **extra: Any) -> Any:
    """A JSONResponse for ``error`` (the status from the error when not given)."""
    from starlette.responses import JSONResponse

    headers: dict[str, str] = {}
    if isinstance(error, HTTPError):
        headers = error.headers
        status = status or error.status
    elif isinstance(error, KaizenError):
        status = status or status_for(error)
    return JSONResponse(error_body(error, **extra), status_code=status or 500, headers=headers)
