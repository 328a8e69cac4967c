"""Domain errors and the single JSON error shape of API.md."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


def error_body(code: int, message: str | None = None, errors: Any = None) -> dict:
    """The one error shape: {code, status, message, errors?}."""
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {"code": code, "status": phrase, "message": message or phrase}
    if errors:
        body["errors"] = errors
    return body


class AppError(Exception):
    """Base of every error a service raises; rendered by one handler."""

    status_code = 400

    def __init__(self, message: str | None = None, errors: Any = None, headers: dict | None = None):
        self.message = message or HTTPStatus(self.status_code).phrase
        self.errors = errors
        self.headers = headers or {}
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return error_body(self.status_code, self.message, self.errors)


class BadRequest(AppError):
    status_code = 400


class Unauthorized(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class PayloadTooLarge(AppError):
    status_code = 413


class Unprocessable(AppError):
    """422: the request is well-formed but its values are not acceptable."""

    status_code = 422


class TooManyRequests(AppError):
    status_code = 429


class GatewayError(AppError):
    """502: the payment gateway answered with an error or garbage."""

    status_code = 502


class ServiceUnavailable(AppError):
    status_code = 503


class GatewayTimeout(AppError):
    """504: the payment gateway did not answer in time."""

    status_code = 504
