"""Redis gone (REDIS_URL at a dead port): the API keeps answering, and says so in the log."""

import logging

import pytest

from tests.conftest import assert_error_shape, isolated_database

DEAD_REDIS = "redis://127.0.0.1:1/0"
# These apps use the database through their own rolled-back connection; the shared per-test
# transaction of the session app (which holds SQLite's write lock) must stay out of the way.
pytestmark = pytest.mark.live_server_only


@pytest.fixture
def outage_app(make_app):
    return make_app(
        REDIS_URL=DEAD_REDIS,
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_REQUESTS=5,
        RATE_LIMIT_WINDOW_SEC=600,
    )


def test_settings_point_everything_at_redis(outage_app):
    config = outage_app.config
    assert config["RATELIMIT_STORAGE_URI"] == DEAD_REDIS
    assert config["CACHE_TYPE"] == "RedisCache"
    assert config["RATELIMIT_SWALLOW_ERRORS"] is True
    assert config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True


def test_rate_limits_fall_back_to_memory(outage_app, caplog):
    client = outage_app.test_client()
    with caplog.at_level(logging.WARNING):
        answers = [client.get("/health") for _ in range(5)]
    assert [r.status_code for r in answers] == [200] * 5
    assert any("falling back to in-memory" in r.getMessage() for r in caplog.records)
    # Limits still hold, per process, until Redis is back.
    assert_error_shape(client.get("/health"), 429)


def test_catalog_reads_are_served_uncached(outage_app, caplog):
    client = outage_app.test_client()
    with isolated_database(outage_app), caplog.at_level(logging.WARNING):
        for path in ("/categories/", "/slippers/"):
            assert client.get(path).status_code == 200, path
    assert any(r.name == "slippers.catalog.cache" for r in caplog.records)


def test_login_is_not_throttled_and_not_broken(outage_app, caplog):
    client = outage_app.test_client()
    with isolated_database(outage_app), caplog.at_level(logging.WARNING):
        for _ in range(3):
            response = client.post("/auth/login", json={"username": "ghost", "password": "x" * 12})
            assert_error_shape(response, 401)
    throttle_warnings = [r for r in caplog.records if r.name == "slippers.auth.throttle"]
    # Logged once, then Redis is left alone for a while instead of timing out per login.
    assert len(throttle_warnings) == 1


def test_readiness_reports_redis_down(outage_app):
    with isolated_database(outage_app):
        response = outage_app.test_client().get("/health/ready")
    body = assert_error_shape(response, 503)
    assert body["errors"]["redis"] == "unavailable"
    assert body["errors"]["database"] == "ok"
