"""Cross-cutting request/response concerns: request id, timing, security headers."""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, g, request
from flask.wrappers import Response

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DOCS_PATHS = ("/docs", "/redoc")

JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def client_ip() -> str:
    """The client address; ProxyFix (TRUSTED_PROXIES) has already rewritten it."""
    return request.remote_addr or "unknown"


def current_request_id() -> str:
    return getattr(g, "request_id", "-")


def _start_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex


def _finish_response(response: Response) -> Response:
    started = getattr(g, "request_started", None)
    headers = response.headers
    if started is not None:
        headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
    headers["X-Request-ID"] = getattr(g, "request_id", None) or uuid.uuid4().hex
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    path = request.path
    is_docs = path.startswith(DOCS_PATHS)
    headers["Content-Security-Policy"] = DOCS_CSP if is_docs else JSON_CSP
    if _is_authenticated_request():
        headers["Cache-Control"] = "no-store"
    if _hsts_enabled():
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def _is_authenticated_request() -> bool:
    return bool(request.headers.get("Authorization") or request.cookies.get("access_token_cookie"))


def _hsts_enabled() -> bool:
    from flask import current_app

    return bool(current_app.config.get("COOKIE_SECURE"))


def init_http(app: Flask) -> None:
    """Register the cheap per-request hooks (no middleware layers)."""
    app.before_request(_start_request)
    app.after_request(_finish_response)
