"""The global per-IP budget (flask-limiter) and its exemptions."""

from __future__ import annotations

from flask import Flask, current_app, request

from slippers.extensions import limiter

WEBHOOK_PATH = "/payments/octo/notify"


def _is_exempt() -> bool:
    path = request.path
    if path.rstrip("/") == WEBHOOK_PATH:
        return True
    return any(path.startswith(prefix) for prefix in current_app.config["RATE_LIMIT_EXCLUDE_PATHS"])


def init_rate_limits(app: Flask) -> None:
    limiter.request_filter(_is_exempt)
