"""Order fixtures, plus a separate database (committed for real) and a gunicorn server on it.

Tests marked `live_server_only` run outside the per-test rolled-back transaction. They use
`live_app`: an app on its own database — `<TEST_DATABASE_URL's database>_live` on
PostgreSQL (created and dropped here), a SQLite file otherwise — migrated with
`flask_migrate.upgrade()`. `live_server` runs gunicorn with several workers on it
(PostgreSQL only), through the helpers of tests/live_server.py.
"""

from __future__ import annotations

import uuid

import pytest

from slippers import create_app
from slippers.extensions import db
from tests.conftest import TEST_PASSWORD, base_settings
from tests.live_server import (
    bearer_session,
    free_port,
    own_postgres_database,
    running_gunicorn,
)
from tests.orders.fixtures import count_statements, make_slipper  # noqa: F401

LIVE_WORKERS = 4


@pytest.fixture(scope="session")
def live_database_url(database_url, tmp_root):
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_root / 'live.db'}"
        return
    with own_postgres_database(database_url, "live") as url:
        yield url


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
    env = {
        "ACCESS_TOKEN_EXPIRE_MINUTES": "240",  # buyers log in once per test session
        "UPLOAD_FOLDER": str(tmp_root / "live-uploads"),
    }
    with running_gunicorn(
        live_database_url,
        env,
        port=free_port(),
        workers=LIVE_WORKERS,
        log_path=tmp_root / "gunicorn-orders.log",
    ) as base:
        yield base


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
    buyers = [bearer_session(live_server, name, TEST_PASSWORD) for name in names]
    yield buyers
    for session in buyers:
        session.close()
