"""OpenAI-style error bodies: every refusal of the server is one of these, never a traceback.

>>> e = APIError(404, "The model 'x' does not exist", code="model_not_found", param="model")
>>> e.body()["error"]["code"], e.status
('model_not_found', 404)
"""

from __future__ import annotations

from typing import Any

from consona.errors import (
    BackendError,
    ConfigError,
    ConsonaError,
    ContextOverflowError,
    DataValidationError,
    FormatError,
)

__all__ = ["APIError", "error_body", "from_consona_error"]

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "server_error",
    503: "server_error",
}


def error_body(
    status: int, message: str, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """``{"error": {"message", "type", "param", "code"}}`` as the OpenAI API writes it."""
    return {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }


class APIError(ConsonaError):
    """A request the server refuses: an HTTP status and an OpenAI-style error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.param = param
        self.headers = headers or {}
        super().__init__(message, hint=hint)

    def body(self) -> dict[str, Any]:
        return error_body(self.status, str(self), code=self.code, param=self.param)


def from_consona_error(exc: ConsonaError) -> APIError:
    """The HTTP answer to an error the agent, a backend or a reader raised on purpose."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, ContextOverflowError):
        return APIError(400, str(exc), code="context_length_exceeded", param="messages")
    if isinstance(exc, FormatError):
        return APIError(400, str(exc), code="invalid_card")
    if isinstance(exc, (DataValidationError, ConfigError)):
        return APIError(400, str(exc), code="invalid_request")
    if isinstance(exc, BackendError):
        return APIError(502, str(exc), code="backend_error")
    return APIError(500, str(exc), code="internal_error")
