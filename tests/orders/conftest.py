"""Order fixtures, plus a separate database (committed for real) and a gunicorn server on it.

Tests marked `live_server_only` run outside the per-test rolled-back transaction. They use
`live_app`: an app on its own database — `<TEST_DATABASE_URL's database>_live` on
PostgreSQL (created and dropped here), a SQLite file otherwise — migrated with
`flask_migrate.upgrade()`. `live_server` runs gunicorn with several workers on it
(PostgreSQL only).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from slippers import create_app
from slippers.extensions import db
from tests.conftest import TEST_PASSWORD, base_settings
from tests.orders.fixtures import count_statements, make_slipper  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
LIVE_WORKERS = 4


def _postgres_admin_engine(url):
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def live_database_url(database_url, tmp_root):
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_root / 'live.db'}"
        return
    url = make_url(database_url)
    live = url.set(database=f"{url.database}_live")
    admin = _postgres_admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{live.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{live.database}"'))
    try:
        yield live.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{live.database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def live_app(live_database_url, tmp_root):
    from flask_migrate import upgrade

    application = create_app(base_settings(tmp_root / "live", live_database_url))
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app, live_database_url, tmp_root):
    """Base URL of gunicorn (several workers) serving the live database."""
    if not live_database_url.startswith("postgresql"):
        pytest.skip("multi-worker server tests need PostgreSQL (TEST_DATABASE_URL is not set)")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": live_database_url,
        "SECRET_KEY": "live-test-secret-key-0123456789abcdef",
        "DEBUG": "false",
        "RATE_LIMIT_ENABLED": "false",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "ACCESS_TOKEN_EXPIRE_MINUTES": "240",  # buyers log in once per test session
        "LOG_LEVEL": "WARNING",
        "UPLOAD_FOLDER": str(tmp_root / "live-uploads"),
    }
    log_path = tmp_root / "gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(LIVE_WORKERS),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "60",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, server, log_path)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(base: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-2000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not become healthy: {log_path.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def live_buyers(live_app, live_server):
    """30 distinct users of the live server, each with a logged-in requests.Session."""
    from slippers.auth.models import User
    from slippers.auth.passwords import hash_password

    names = [f"buyer_{uuid.uuid4().hex[:8]}" for _ in range(30)]
    with live_app.app_context():
        password_hash = hash_password(TEST_PASSWORD)
        db.session.add_all(
            User(username=name, username_key=name, password_hash=password_hash, is_active=True)
            for name in names
        )
        db.session.commit()
    buyers = []
    for name in names:
        session = requests.Session()
        response = session.post(
            f"{live_server}/auth/login",
            json={"username": name, "password": TEST_PASSWORD},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        session.cookies.clear()  # Bearer only: no CSRF dance
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        buyers.append(session)
    yield buyers
    for session in buyers:
        session.close()
