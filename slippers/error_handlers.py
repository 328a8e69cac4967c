"""Render every error — domain, Werkzeug, webargs, JWT, limiter, crash — in one shape."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from slippers.errors import AppError, error_body

log = logging.getLogger("slippers.errors")


def json_error(code: int, message: str | None = None, errors=None, headers=None):
    response = jsonify(error_body(code, message, errors))
    response.status_code = code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_errors(exc: HTTPException):
    """webargs puts messages under their location; clients want them per field."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if not isinstance(messages, dict):
        return None
    merged: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            merged.update(fields)
        else:
            merged[location] = fields
    return merged or None


def handle_app_error(exc: AppError):
    return json_error(exc.status_code, exc.message, exc.errors, exc.headers)


def handle_http_exception(exc: HTTPException):
    code = exc.code or 500
    errors = _field_errors(exc)
    if code == 422:
        message = "Validation failed" if errors else (exc.description or None)
    elif code == 400 and errors and "json" in (getattr(exc, "data", {}) or {}).get("messages", {}):
        message = "Invalid JSON body"
    elif code == 413:
        message = "Request body is too large"
    elif code == 405:
        message = "Method not allowed on this path"
    elif code == 404:
        message = "Resource not found"
    else:
        message = exc.description if isinstance(exc.description, str) else None
    headers = {}
    if code == 405 and exc.get_headers():
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
    return json_error(code, message, errors, headers)


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    if isinstance(exc, RecursionError):  # JSON nested thousands deep: refuse, don't crash
        return json_error(400, "Request body is nested too deeply")
    log.exception("unhandled error")
    return json_error(500, "Internal server error")


def init_error_handlers(app: Flask) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
