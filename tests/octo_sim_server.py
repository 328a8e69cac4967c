"""Run the OCTO sandbox (and a tiny callback receiver) as real HTTP servers for tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from slippers.octo_sim import SimState, make_sim_server


@contextmanager
def _serving(server: BaseWSGIServer) -> Iterator[None]:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-server", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class SimServer:
    """A running sandbox: its URL, app and state, plus a client for the /_sim/ control API."""

    base_url: str
    app: Flask
    http: requests.Session

    @property
    def state(self) -> SimState:
        return self.app.extensions["octo_sim"]

    def control(
        self, method: str, endpoint: str, body: Any = None, params: dict | None = None
    ) -> Any:
        response = self.http.request(
            method, f"{self.base_url}/_sim{endpoint}", json=body, params=params, timeout=30
        )
        assert response.status_code == 200, response.text
        return json.loads(response.content, parse_float=Decimal)

    def reset(self) -> None:
        self.control("POST", "/reset")

    def recorded(self, path: str | None = None) -> list[dict]:
        """Requests the sandbox received (full JSON body and raw text), oldest first."""
        return self.control("GET", "/requests", params={"path": path} if path else None)

    def payment(self, payment_uuid: str) -> dict:
        return self.control("GET", f"/payments/{payment_uuid}")

    def callbacks(self) -> list[dict]:
        return self.control("GET", "/callbacks")

    def fault(self, mode: str, **options: Any) -> list[dict]:
        return self.control("POST", "/faults", {"mode": mode, **options})

    def callback_mode(self, **options: Any) -> dict:
        return self.control("POST", "/callback-mode", options)

    def send_callback(self, payment_uuid: str, status: str, **options: Any) -> dict:
        body = {"status": status, **options}
        return self.control("POST", f"/payments/{payment_uuid}/callback", body)

    def set_status(self, payment_uuid: str, status: str) -> dict:
        return self.control("POST", f"/payments/{payment_uuid}/status", {"status": status})

    def response_shape(self, shape: str) -> None:
        self.control("POST", "/response-shape", {"shape": shape})

    def wait_for_callbacks(self, count: int, timeout: float = 10.0) -> list[dict]:
        """Poll the delivery log until it holds `count` entries (async delivery)."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.callbacks()
            if len(log) >= count or time.monotonic() > deadline:
                return log
            time.sleep(0.02)


@contextmanager
def running_sim(settings: Mapping[str, Any] | None = None) -> Iterator[SimServer]:
    """The sandbox on 127.0.0.1 with a free port, shut down (and its threads joined) on exit."""
    server, app = make_sim_server("127.0.0.1", 0, settings)
    base_url = f"http://127.0.0.1:{server.server_port}"
    with requests.Session() as http, _serving(server):
        try:
            yield SimServer(base_url=base_url, app=app, http=http)
        finally:
            app.extensions["octo_sim"].stop()


@dataclass
class Receiver:
    """A stand-in for the shop's notify_url that records what it is sent."""

    url: str
    received: list[dict] = field(default_factory=list)
    answer: dict = field(default_factory=lambda: {"status": "ok"})

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)


@contextmanager
def running_receiver(
    answer: dict | Callable[[dict], dict] | None = None,
) -> Iterator[Receiver]:
    """A callback receiver on 127.0.0.1 with a free port; `answer` is its JSON reply."""
    lock = threading.Lock()
    holder: dict[str, Receiver] = {}

    @Request.application
    def receive(request: Request) -> Response:
        payload = json.loads(request.get_data() or b"null", parse_float=Decimal)
        receiver = holder["receiver"]
        with lock:
            receiver.received.append(payload)
        reply = receiver.answer(payload) if callable(receiver.answer) else receiver.answer
        return Response(json.dumps(reply), mimetype="application/json")

    server = make_server("127.0.0.1", 0, receive, threaded=True)
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_port}/notify")
    if answer is not None:
        receiver.answer = answer  # type: ignore[assignment]
    holder["receiver"] = receiver
    with _serving(server):
        yield receiver
