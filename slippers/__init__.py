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
    redis_url = s.get("REDIS_URL")
    s["RATELIMIT_ENABLED"] = s["RATE_LIMIT_ENABLED"]
    s["RATELIMIT_STORAGE_URI"] = redis_url or "memory://"
    s["RATELIMIT_DEFAULT"] = f"{s['RATE_LIMIT_REQUESTS']} per {s['RATE_LIMIT_WINDOW_SEC']} second"
    s["RATELIMIT_HEADERS_ENABLED"] = True
    s["RATELIMIT_SWALLOW_ERRORS"] = True
    s["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = bool(redis_url)
    s.setdefault("CACHE_TYPE", "RedisCache" if redis_url else "SimpleCache")
    if redis_url:
        s.setdefault("CACHE_REDIS_URL", redis_url)
    s.setdefault("CACHE_KEY_PREFIX", "slippers:")
    s["CACHE_DEFAULT_TIMEOUT"] = s["CACHE_DEFAULT_TIMEOUT"]
    if s["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The pool never shares a connection between threads at once; threaded servers
        # (dev server, test live servers) may still hand one to another thread later.
        s["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"timeout": 30, "check_same_thread": False}
        }
    return s


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
    from slippers.extensions import api, cache, db, limiter, migrate
    from slippers.ratelimit import init_rate_limits

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
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    api.spec.components.security_scheme(
        "cookieAuth", {"type": "apiKey", "in": "cookie", "name": "access_token_cookie"}
    )
    init_jwt(app)
    limiter.init_app(app)
    init_rate_limits(app)
    cache.init_app(app)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def register_blueprints(app: Flask) -> None:
    from slippers.auth.routes import blp as auth_blp
    from slippers.extensions import api
    from slippers.health import blp as health_blp
    from slippers.users.routes import blp as users_blp

    for blp in (health_blp, auth_blp, users_blp, *_domain_blueprints()):
        api.register_blueprint(blp)


def _domain_blueprints() -> list:
    """Blueprints of the shop's domains, in the order they appear in the docs."""
    import importlib

    found = []
    for module in (
        "slippers.catalog.routes",
        "slippers.cart.routes",
        "slippers.orders.routes",
        "slippers.payments.routes",
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        found.extend(getattr(mod, "blueprints", [mod.blp]))
    return found


def register_error_handlers(app: Flask) -> None:
    from slippers.error_handlers import init_error_handlers

    init_error_handlers(app)


def register_cli(app: Flask) -> None:
    from slippers.cli import init_cli

    init_cli(app)
