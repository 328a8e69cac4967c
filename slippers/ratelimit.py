"""Rate limits (flask-limiter): one per-IP budget for the API, stricter ones on a few routes.

The budget is `RATE_LIMIT_REQUESTS` per `RATE_LIMIT_WINDOW_SEC` per client IP (as ProxyFix
sees it through `TRUSTED_PROXIES`), kept in Redis when `REDIS_URL` is set so every worker and
host shares it. If Redis stops answering, flask-limiter logs it and counts in process memory
until Redis is back: requests keep being served.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_limiter.errors import RateLimitExceeded

from slippers.error_handlers import json_error
from slippers.extensions import limiter

WEBHOOK_PATH = "/payments/octo/notify"
METRICS_PATH = "/metrics"

# Stricter budgets on top of the global one: setting name -> URL rules it covers. One budget
# per setting, shared by its routes (guessing passwords on login or codes on reset-confirm
# draws from the same pot).
ROUTE_LIMITS = {
    "RATE_LIMIT_AUTH": (
        "/auth/login",
        "/auth/register",
        "/auth/forgot-password",
        "/auth/reset-password/confirm",
    ),
    "RATE_LIMIT_REFUND": ("/payments/octo/refund",),
}


def global_limit() -> str:
    """The global budget, read per request so every app built in one process gets its own."""
    config = current_app.config
    return f"{config['RATE_LIMIT_REQUESTS']} per {config['RATE_LIMIT_WINDOW_SEC']} second"


def request_identity() -> str:
    """flask-limiter skips requests with no endpoint; a path that matches no route (a 404,
    a 405) must still draw from the budget, or scanning the API would be free."""
    return request.endpoint or "unmatched"


def auth_limit() -> str:
    return current_app.config["RATE_LIMIT_AUTH"]


def refund_limit() -> str:
    return current_app.config["RATE_LIMIT_REFUND"]


# Module-level providers: the same objects for every app, so flask-limiter (which keeps its
# registry on the one Limiter instance) sees one limit per route, not one per app built.
_PROVIDERS = {"RATE_LIMIT_AUTH": auth_limit, "RATE_LIMIT_REFUND": refund_limit}


def _is_exempt() -> bool:
    """Preflights, the OCTO webhook, metrics and the excluded prefixes are never limited."""
    if request.method == "OPTIONS":
        return True
    path = request.path.rstrip("/") or "/"
    if path in (WEBHOOK_PATH, METRICS_PATH):
        return True
    return any(
        request.path.startswith(prefix) for prefix in current_app.config["RATE_LIMIT_EXCLUDE_PATHS"]
    )


def handle_rate_limited(exc: RateLimitExceeded):
    """429 in the error shape, with Retry-After and X-RateLimit-* (flask-limiter adds them
    itself instead when RATE_LIMIT_HEADERS_ALWAYS puts them on every answer)."""
    message = f"Too many requests (limit: {exc.limit.limit}); retry after Retry-After seconds"
    headers = {}
    if not current_app.config["RATELIMIT_HEADERS_ENABLED"]:
        headers = _refusal_headers(exc)
    return json_error(429, message, headers=headers)


def _refusal_headers(exc: RateLimitExceeded) -> dict[str, str]:
    now = time.time()
    breached = limiter.current_limit
    try:
        reset_at = breached.reset_at if breached else None
    except Exception:  # noqa: BLE001 - storage gone between the check and here: estimate
        reset_at = None
    if reset_at is None:
        reset_at = math.ceil(now + exc.limit.limit.get_expiry())
    return {
        "Retry-After": str(max(1, int(reset_at - now))),
        "X-RateLimit-Limit": str(exc.limit.limit.amount),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset_at),
    }


def init_rate_limits(app: Flask) -> None:
    """Bind the limiter to this app; call before the blueprints are registered."""
    # flask-limiter keeps its state on the single Limiter object: an app built in this
    # process starts with its storage presumed healthy and its own header setting.
    limiter._storage_dead = False
    limiter._headers_enabled = None
    limiter.init_app(app)
    if _is_exempt not in limiter._request_filters:
        limiter.request_filter(_is_exempt)
    app.register_error_handler(RateLimitExceeded, handle_rate_limited)


def apply_route_limits(app: Flask) -> list[str]:
    """Wrap the views of ROUTE_LIMITS' URL rules that exist; returns the endpoints wrapped.

    Runs after the blueprints are registered, so the domains' route modules stay unaware of
    it. A rule that does not exist (yet) is skipped.
    """
    if not app.config["RATELIMIT_ENABLED"]:
        return []
    endpoints = {rule.rule.rstrip("/"): rule.endpoint for rule in app.url_map.iter_rules()}
    wrapped = []
    for setting, paths in ROUTE_LIMITS.items():
        budget = limiter.shared_limit(
            _PROVIDERS[setting],
            scope=setting.lower(),
            override_defaults=False,
            methods=["POST"],
        )
        for path in paths:
            endpoint = endpoints.get(path)
            view = app.view_functions.get(endpoint) if endpoint else None
            if view is None or hasattr(view, "__wrapper-limiter-instance"):
                continue
            app.view_functions[endpoint] = budget(view)
            wrapped.append(endpoint)
    return wrapped
