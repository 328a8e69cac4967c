"""Fixtures for the production-hardening tests: apps with other settings, the JSON log."""

from __future__ import annotations

import io
import json
import logging
import os
import uuid

import pytest
import redis

from slippers import create_app
from slippers.logs import JsonFormatter, configure_json_logging
from tests.conftest import base_settings


@pytest.fixture
def make_app(tmp_root, database_url):
    """A second app on the test database with some settings changed (rate limits off
    unless asked). Wrap database use in `tests.conftest.isolated_database(app)`."""

    prefixes = []

    def _make(**overrides):
        # Each app counts in its own keys when REDIS_URL is set (CI), so no test, and no
        # earlier run, eats another's budget.
        prefix = f"hardening-test-{uuid.uuid4().hex[:12]}"
        prefixes.append(prefix)
        settings = base_settings(tmp_root, database_url) | {"RATE_LIMIT_KEY_PREFIX": prefix}
        return create_app(settings | overrides)

    yield _make
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        for prefix in prefixes:
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)
        client.close()


@pytest.fixture
def limited_app(make_app):
    """Rate limits on, in memory, with a budget of 3 per client IP."""
    return make_app(RATE_LIMIT_ENABLED=True, RATE_LIMIT_REQUESTS=3, RATE_LIMIT_WINDOW_SEC=600)


class JsonLog:
    """What the app's real JSON log handler (filters and formatter) wrote, parsed."""

    def __init__(self, stream: io.StringIO):
        self.stream = stream

    def entries(self, logger: str | None = None) -> list[dict]:
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines() if line]
        return [entry for entry in lines if logger is None or entry["logger"] == logger]

    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def json_log(app, caplog):
    """Point the root JSON handler at a buffer for one test, with INFO enabled."""
    # Alembic's logging config (run by the session's `upgrade()`) replaces root handlers;
    # the app's own set-up puts its JSON handler back.
    configure_json_logging(app.config["LOG_LEVEL"])
    handler = next(
        h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)
    )
    caplog.set_level(logging.INFO, logger="slippers")  # survives create_app resetting root
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield JsonLog(buffer)
    finally:
        handler.setStream(previous)
