"""Slippers: the backend of an online slipper shop."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import DEFAULT_SECRET_KEY, Config


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers, CLI."""
    app = Flask(__name__, instance_relative_config=True)
    app.json.sort_keys = False
    settings = Config().as_dict()
    settings.update(overrides or {})
    app.config.update(derive_settings(settings))
    refuse_unsafe_settings(app)
    configure_logging(app)
    register_proxy_fix(app)
    register_hooks(app)
    register_extensions(app)
    register_blueprints(app)
    register_route_limits(app)
    register_cors(app)
    register_compression(app)
    register_metrics(app)
    register_error_handlers(app)
    register_cli(app)
    return app


def derive_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings of the extensions follow from the project's own names."""
    from datetime import timedelta

    from config import normalize_database_url

    s = dict(settings)
    s["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(s["SQLALCHEMY_DATABASE_URI"])
    s["JWT_SECRET_KEY"] = s["SECRET_KEY"] or (DEFAULT_SECRET_KEY if s["DEBUG"] else "")
    s["SECRET_KEY"] = s["JWT_SECRET_KEY"]
    s["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(minutes=s["ACCESS_TOKEN_EXPIRE_MINUTES"])
    s["JWT_REFRESH_TOKEN_EXPIRES"] = timedelta(days=s["REFRESH_TOKEN_EXPIRE_DAYS"])
    s["JWT_COOKIE_SECURE"] = s["COOKIE_SECURE"]
    images = s["MAX_IMAGE_MB"] * 1024 * 1024 * s["MAX_IMAGES_PER_REQUEST"]
    s["MAX_CONTENT_LENGTH"] = max(s["MAX_JSON_KB"] * 1024, images + 1024 * 1024)
    s.update(_limiter_and_cache_settings(s))
    s.update(_compression_settings(s))
    s.setdefault("OPENAPI_SWAGGER_UI_CONFIG", {"validatorUrl": None})
    if s["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The pool never shares a connection between threads at once; threaded servers
        # (dev server, test live servers) may still hand one to another thread later.
        s["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"timeout": 30, "check_same_thread": False}
        }
    return s


def _limiter_and_cache_settings(s: dict[str, Any]) -> dict[str, Any]:
    """flask-limiter and flask-caching on Redis when REDIS_URL is set, else in memory.

    Redis calls get short timeouts and errors are swallowed: a Redis outage slows nothing
    down for long and never turns into a 500 (limits fall back to per-process memory).
    """
    from slippers.ratelimit import global_limit, request_identity

    redis_url = s.get("REDIS_URL")
    timeouts = {
        "socket_connect_timeout": s["REDIS_TIMEOUT_SEC"],
        "socket_timeout": s["REDIS_TIMEOUT_SEC"],
    }
    out: dict[str, Any] = {
        "RATELIMIT_ENABLED": s["RATE_LIMIT_ENABLED"],
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_STORAGE_OPTIONS": (
            {**timeouts, "key_prefix": s["RATE_LIMIT_KEY_PREFIX"]} if redis_url else {}
        ),
        # One budget per client IP for the whole API: an application-wide limit (flask-
        # limiter's default limits would be one budget per route).
        "RATELIMIT_APPLICATION": global_limit,
        "RATELIMIT_REQUEST_IDENTIFIER": request_identity,
        # X-RateLimit-* on every answer costs two more Redis round trips per request (about
        # 3x fewer requests/s measured); by default only a 429 carries them (ratelimit.py).
        "RATELIMIT_HEADERS_ENABLED": s["RATE_LIMIT_HEADERS_ALWAYS"],
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": bool(redis_url),
        "CACHE_TYPE": s.get("CACHE_TYPE") or ("RedisCache" if redis_url else "SimpleCache"),
        "CACHE_KEY_PREFIX": s.get("CACHE_KEY_PREFIX") or "slippers:",
    }
    if redis_url:
        out["CACHE_REDIS_URL"] = s.get("CACHE_REDIS_URL") or redis_url
        out["CACHE_OPTIONS"] = {**timeouts, **(s.get("CACHE_OPTIONS") or {})}
    return out


def _compression_settings(s: dict[str, Any]) -> dict[str, Any]:
    """gzip or Brotli (cheap level) for bodies of COMPRESS_MIN_BYTES and more."""
    return {
        "COMPRESS_MIN_SIZE": s["COMPRESS_MIN_BYTES"],
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip"],
        "COMPRESS_BR_LEVEL": 4,
        "COMPRESS_LEVEL": 6,
    }


def refuse_unsafe_settings(app: Flask) -> None:
    secret = app.config.get("SECRET_KEY") or ""
    relaxed = app.config["DEBUG"] or app.config["TESTING"]
    if not relaxed and (not secret or secret == DEFAULT_SECRET_KEY or len(secret) < 16):
        raise RuntimeError(
            "SECRET_KEY is missing, default or shorter than 16 characters; "
            "set a long random SECRET_KEY (or DEBUG=true for local development)."
        )


def configure_logging(app: Flask) -> None:
    from slippers.logs import configure_json_logging

    configure_json_logging(app.config["LOG_LEVEL"])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def register_proxy_fix(app: Flask) -> None:
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_hooks(app: Flask) -> None:
    from slippers.http import init_http

    app.url_map.strict_slashes = False
    init_http(app)


def register_extensions(app: Flask) -> None:
    import slippers.models  # noqa: F401 - every table on the metadata
    from slippers.auth.service import log_reset_code
    from slippers.auth.tokens import init_jwt
    from slippers.database import include_object, init_database, render_item
    from slippers.extensions import api, cache, db, migrate
    from slippers.openapi import CommonResponseHeaders, register_components
    from slippers.ratelimit import METRICS_PATH, WEBHOOK_PATH, init_rate_limits

    init_database(app)
    app.extensions.setdefault("password_reset_notifier", log_reset_code)
    migrate.init_app(
        app,
        db,
        directory=str(_migrations_dir()),
        compare_type=True,
        render_as_batch=True,
        include_object=include_object,
        render_item=render_item,
    )
    never_limited = (WEBHOOK_PATH, METRICS_PATH)
    api.init_app(app, spec_kwargs={"extra_plugins": [CommonResponseHeaders(never_limited)]})
    register_components(api.spec)
    init_jwt(app)
    init_rate_limits(app)
    cache.init_app(app)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def register_blueprints(app: Flask) -> None:
    from slippers.auth.routes import blp as auth_blp
    from slippers.cart.routes import blp as cart_blp
    from slippers.catalog.routes import blueprints as catalog_blueprints
    from slippers.extensions import api
    from slippers.health import blp as health_blp
    from slippers.orders.routes import blp as orders_blp
    from slippers.payments.routes import blp as payments_blp
    from slippers.users.routes import blp as users_blp

    for blp in (
        health_blp,
        auth_blp,
        users_blp,
        *catalog_blueprints,
        cart_blp,
        orders_blp,
        payments_blp,
    ):
        api.register_blueprint(blp)


def register_route_limits(app: Flask) -> None:
    from slippers.ratelimit import apply_route_limits

    apply_route_limits(app)


def register_cors(app: Flask) -> None:
    from slippers.http import init_cors

    init_cors(app)


def register_compression(app: Flask) -> None:
    from slippers.http import init_compression

    init_compression(app)


def register_metrics(app: Flask) -> None:
    from slippers.metrics import init_metrics

    init_metrics(app)


def register_error_handlers(app: Flask) -> None:
    from slippers.error_handlers import init_error_handlers

    init_error_handlers(app)


def register_cli(app: Flask) -> None:
    from slippers.cli import init_cli

    init_cli(app)
