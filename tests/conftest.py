"""Shared fixtures: one app per run, a real database, one rolled-back transaction per test.

The database is TEST_DATABASE_URL when set (PostgreSQL in CI), else a SQLite file in a
temporary folder. DATABASE_URL is never read here, so tests cannot touch a real database.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from slippers import create_app
from slippers.extensions import cache, db

TEST_PASSWORD = "Correct-Horse-42"


def _database_url(tmp_root) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    return url or f"sqlite:///{tmp_root / 'test.db'}"


def _reset_postgres_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def base_settings(tmp_root, database_url: str) -> dict:
    return {
        "TESTING": True,
        "DEBUG": False,
        "SECRET_KEY": "test-secret-key-0123456789abcdef",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "RATE_LIMIT_ENABLED": False,
        "COOKIE_SECURE": False,
        "UPLOAD_FOLDER": str(tmp_root / "uploads"),
        "REDIS_URL": os.environ.get("REDIS_URL", "").strip(),
        "CACHE_KEY_PREFIX": f"slippers-test-{uuid.uuid4().hex[:8]}:",
        "LOG_LEVEL": "WARNING",
        "OCTO_UNIQUE_KEY": "sim-unique-key",
        "OCTO_SECRET": "sim-secret",
        "OCTO_SHOP_ID": 1,
    }


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory):
    return tmp_path_factory.mktemp("slippers")


@pytest.fixture(scope="session")
def database_url(tmp_root) -> str:
    url = _database_url(tmp_root)
    if url.startswith("postgresql"):
        _reset_postgres_schema(url)
    return url


@pytest.fixture(scope="session")
def app(tmp_root, database_url) -> Iterator[Flask]:
    from flask_migrate import upgrade

    application = create_app(base_settings(tmp_root, database_url))
    with application.app_context():
        upgrade()
        db.engine.dispose()
    yield application


@contextlib.contextmanager
def isolated_database(application: Flask):
    """Bind the app's session to one connection inside an outer transaction; roll it back.

    Flask-SQLAlchemy 3 ignores a session `bind=`, so the app's engine entry itself is
    swapped for the connection; the code's own commits become SAVEPOINT releases.
    """
    with application.app_context():
        engine = db.engine
        connection = engine.connect()
        outer = connection.begin()
        engines = db._app_engines[application]
        engines[None] = connection
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield connection
        finally:
            db.session.remove()
            engines[None] = engine
            if outer.is_active:
                outer.rollback()
            connection.close()


@pytest.fixture(autouse=True)
def _isolated(request, app) -> Iterator[None]:
    if "live_server_only" in request.keywords:
        yield
        return
    with isolated_database(app), app.app_context():
        cache.clear()
        app.extensions["login_throttle"].reset()
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create a user straight in the database (fast), returning it."""
    from slippers.auth.models import User
    from slippers.auth.passwords import hash_password

    def _make(username: str | None = None, *, admin: bool = False, **fields):
        username = username or f"user_{uuid.uuid4().hex[:10]}"
        user = User(
            username=username,
            username_key=username.lower(),
            password_hash=hash_password(fields.pop("password", TEST_PASSWORD)),
            is_admin=admin,
            is_active=fields.pop("is_active", True),
            **fields,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return _make


def login_tokens(client, username: str, password: str = TEST_PASSWORD) -> dict:
    """Log in through the API on a separate client, so `client` keeps no cookies."""
    response = client.application.test_client().post(
        "/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def user(make_user):
    return make_user("shopper")


@pytest.fixture
def other_user(make_user):
    return make_user("other_shopper")


@pytest.fixture
def admin(make_user):
    return make_user("boss", admin=True)


@pytest.fixture
def user_headers(client, user):
    return bearer(login_tokens(client, user.username)["access_token"])


@pytest.fixture
def other_headers(client, other_user):
    return bearer(login_tokens(client, other_user.username)["access_token"])


@pytest.fixture
def admin_headers(client, admin):
    return bearer(login_tokens(client, admin.username)["access_token"])


def assert_error_shape(response, code: int) -> dict:
    """Every error has one shape: code, status, message (+ optional errors)."""
    assert response.status_code == code, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert body["code"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "status", "message", "errors"}
    return body
