"""A local OCTO sandbox: its own small Flask app, never a blueprint of the shop.

The shop imports it only from the `flask octo-sim` CLI command (`run_sim`); tests run it on a
loopback port and point OCTO_API_BASE at it. State lives in memory, in `app.extensions
["octo_sim"]` (a `SimState`); the JSON control API under /_sim/ is listed at GET /_sim/.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, make_server

from slippers.octo_sim import api, control, pages
from slippers.octo_sim.state import SimSettings, SimState
from slippers.octo_sim.web import SimError, error_body, json_response, request_json, sim_state

__all__ = ["SimSettings", "SimState", "create_sim_app", "make_sim_server", "run_sim"]

logger = logging.getLogger(__name__)
MAX_RECORDED_TEXT = 64 * 1024


def create_sim_app(settings: Mapping[str, Any] | None = None) -> Flask:
    """The sandbox app; settings: shop_id, secret, unique_key, public_base_url."""
    app = Flask(__name__)
    app.extensions["octo_sim"] = SimState(SimSettings.from_mapping(settings))
    app.before_request(_record_request)
    app.register_error_handler(SimError, _octo_error)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(control.bp)
    return app


def make_sim_server(
    host: str, port: int, settings: Mapping[str, Any] | None = None
) -> tuple[BaseWSGIServer, Flask]:
    """A threaded werkzeug server for a new sandbox; port 0 picks a free port.

    Without an explicit public_base_url the pay links point at the bound host and port.
    """
    values = dict(settings or {})
    app = create_sim_app(values)
    server = make_server(host, port, app, threaded=True)
    if not values.get("public_base_url"):
        state: SimState = app.extensions["octo_sim"]
        state.settings.public_base_url = f"http://{host}:{server.server_port}"
    return server, app


def run_sim(host: str, port: int, settings: Mapping[str, Any] | None = None) -> None:
    """Serve the sandbox until interrupted (used by `flask octo-sim`)."""
    server, app = make_sim_server(host, port, settings)
    state: SimState = app.extensions["octo_sim"]
    base_url = f"http://{host}:{server.server_port}"
    print(f"OCTO sandbox on {base_url} (shop_id {state.settings.shop_id});")
    print(f"point OCTO_API_BASE at it; control API: {base_url}/_sim/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        state.stop()


def _record_request(*_: Any) -> None:
    """Keep every call to the fake OCTO (not the control API) for tests to inspect."""
    if request.path.startswith("/_sim/") or request.path == "/_sim":
        return
    text = request.get_data(cache=True, as_text=True)
    sim_state().record_request(
        {
            "method": request.method,
            "path": request.path,
            "json": request_json() if text else None,
            "body": text[:MAX_RECORDED_TEXT],
        }
    )


def _octo_error(error: SimError) -> Response:
    return json_response(error_body(error.code, error.message))
