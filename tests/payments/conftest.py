"""Payment fixtures: the OCTO sandbox on a real port, the shop reachable for its callbacks.

`octo` points the session app at a fresh sandbox (OCTO_API_BASE, short timeouts);
`shop` also serves the app itself on a loopback port (tests/live_server.py) and sets
OCTO_NOTIFY_URL there, so the sandbox's pay page calls the real webhook. The shop's
requests share the test's rolled-back transaction: before anything makes the sandbox call
the shop, the test's own session must hold no open savepoint (`settle()` commits it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from slippers import create_app
from slippers.extensions import db
from tests.conftest import base_settings
from tests.live_server import free_port, own_postgres_database, running_gunicorn, serve_in_thread
from tests.octo_sim_server import SimServer, running_sim
from tests.orders.fixtures import make_slipper  # noqa: F401 - a fixture
from tests.payments.helpers import UNIQUE_KEY


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with running_sim() as server:
        yield server


@pytest.fixture
def octo(app, sim, monkeypatch) -> SimServer:
    """The app talks to the sandbox (callbacks go nowhere unless `shop` is used too)."""
    for name, value in {
        "OCTO_API_BASE": sim.base_url,
        "OCTO_SHOP_ID": 1,
        "OCTO_SECRET": "sim-secret",
        "OCTO_UNIQUE_KEY": UNIQUE_KEY,
        "OCTO_ALLOW_UNSIGNED_CALLBACKS": False,
        "OCTO_TIMEOUT_SEC": 1.0,
        "OCTO_CONNECT_TIMEOUT_SEC": 1.0,
        "OCTO_RETRIES": 1,
        "OCTO_AUTO_CAPTURE": True,
        "OCTO_EXTRA_PARAMS": {},
        "OCTO_NOTIFY_URL": "http://127.0.0.1:9/payments/octo/notify",
        "OCTO_RETURN_URL": "http://shop.test/orders/{order_id}",
        "OCTO_USD_UZS_RATE": "",
        "OCTO_MAX_REFUND_UZS": "10000000",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return sim


@pytest.fixture
def shop(app, octo, monkeypatch) -> Iterator[str]:
    """The shop on a real port; the sandbox's callbacks reach its webhook."""
    with serve_in_thread(app) as base_url:
        monkeypatch.setitem(app.config, "OCTO_NOTIFY_URL", f"{base_url}/payments/octo/notify")
        yield base_url


@pytest.fixture
def slipper(make_slipper):  # noqa: F811 - the imported fixture
    return make_slipper("Cosy", price="125000.50", quantity=10)


# --- a real multi-worker server on its own PostgreSQL database (live_server_only tests) ----


@dataclass
class LiveShop:
    """gunicorn (3 workers) on its own database, and an in-process app on the same one."""

    base_url: str
    app: Flask
    sim: SimServer


@pytest.fixture(scope="session")
def live_shop(database_url, tmp_root) -> Iterator[LiveShop]:
    if not database_url.startswith("postgresql"):
        pytest.skip("real concurrency needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
    from flask_migrate import upgrade

    with running_sim() as sim, own_postgres_database(database_url, "live_payments") as url:
        port = free_port()
        octo = {
            "OCTO_API_BASE": sim.base_url,
            "OCTO_SHOP_ID": 1,
            "OCTO_SECRET": "sim-secret",
            "OCTO_UNIQUE_KEY": UNIQUE_KEY,
            "OCTO_NOTIFY_URL": f"http://127.0.0.1:{port}/payments/octo/notify",
            "OCTO_TIMEOUT_SEC": 10.0,
        }
        # The same settings for the in-process app (set-up, checks, reconcile) and gunicorn.
        settings = {**base_settings(tmp_root / "live-payments", url), **octo}
        env = {name: str(value) for name, value in octo.items()}
        env["UPLOAD_FOLDER"] = str(tmp_root / "live-payments-uploads")
        application = create_app(settings)
        with application.app_context():
            upgrade()
        log_path = tmp_root / "gunicorn-payments.log"
        try:
            with running_gunicorn(url, env, port=port, workers=3, log_path=log_path) as base:
                yield LiveShop(base_url=base, app=application, sim=sim)
        finally:
            with application.app_context():
                db.engine.dispose()
