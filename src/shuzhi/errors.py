"""One exception root for the whole platform.

::

    ShuzhiError
    ├── UserError            the caller or operator must change something (HTTP 4xx, CLI exit 2)
    │   ├── InvalidInput     bad value in a request, file or definition (422)
    │   ├── NotFound         (404)
    │   ├── Conflict         the thing exists already or is in the wrong state (409)
    │   ├── Unauthenticated  (401)
    │   ├── PermissionDenied (403)
    │   └── ConfigError      a setting is wrong; the message names the setting (CLI exit 2)
    ├── RuntimeFailure       our own failure: a bug or a broken invariant (500)
    └── UpstreamError        a service we depend on failed (502/503)
        ├── StorageUnavailable  the database cannot be reached
        └── ModelError          a model endpoint failed or none is configured

Every error carries a ``message`` a person can act on (Chinese where a clerk reads it) and an
optional ``hint`` naming the setting, command or file that fixes it. Third-party exceptions are
translated once, where they enter our code, with ``raise ... from``.
"""

from __future__ import annotations

from typing import Any


class ShuzhiError(Exception):
    """Root of every error shuzhi raises on purpose."""

    status_code = 500
    code = "error"

    def __init__(self, message: str, *, hint: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message}（{self.hint}）" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.kind, "code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.detail:
            body["detail"] = self.detail
        return body

    @property
    def kind(self) -> str:
        """The OpenAI-style error type, so OpenAI clients can read our errors too."""
        return "server_error"


class UserError(ShuzhiError):
    status_code = 400
    code = "bad_request"

    @property
    def kind(self) -> str:
        return "invalid_request_error"


class InvalidInput(UserError):
    status_code = 422
    code = "invalid_input"


class NotFound(UserError):
    status_code = 404
    code = "not_found"


class Conflict(UserError):
    status_code = 409
    code = "conflict"


class Unauthenticated(UserError):
    status_code = 401
    code = "unauthenticated"

    @property
    def kind(self) -> str:
        return "authentication_error"


class PermissionDenied(UserError):
    status_code = 403
    code = "permission_denied"

    @property
    def kind(self) -> str:
        return "permission_error"


class ConfigError(UserError):
    status_code = 500
    code = "config_error"


class RuntimeFailure(ShuzhiError):
    status_code = 500
    code = "internal_error"


class UpstreamError(ShuzhiError):
    status_code = 502
    code = "upstream_error"


class StorageUnavailable(UpstreamError):
    status_code = 503
    code = "storage_unavailable"


class ModelError(UpstreamError):
    """A model endpoint failed, timed out, or none is configured for what was asked."""

    status_code = 502
    code = "model_error"


class NoModelConfigured(ModelError):
    status_code = 503
    code = "no_model_configured"
