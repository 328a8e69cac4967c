"""Prometheus metrics at /metrics: request count and latency by endpoint, method and status.

Off unless METRICS_ENABLED. Under gunicorn, set PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py
does it when missing): every worker writes its samples there and /metrics, whichever
worker answers, sums them all; `child_exit` in gunicorn.conf.py tidies after dead workers.
With METRICS_TOKEN set, /metrics wants `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import threading
import time

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from slippers.errors import Unauthorized

METRICS_PATH = "/metrics"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_lock = threading.Lock()
_registry = CollectorRegistry()
_instruments: dict[str, Counter | Histogram] = {}


def _get_instruments() -> dict[str, Counter | Histogram]:
    """Created once per process (apps built in the same process share them)."""
    with _lock:
        if not _instruments:
            labels = ("method", "endpoint", "status")
            _instruments["requests"] = Counter(
                "slippers_http_requests",
                "HTTP requests answered",
                labels,
                registry=_registry,
            )
            _instruments["latency"] = Histogram(
                "slippers_http_request_duration_seconds",
                "Time from the first to the last hook of a request",
                labels,
                buckets=LATENCY_BUCKETS,
                registry=_registry,
            )
        return _instruments


def _observe(response: Response) -> Response:
    started = g.get("request_started")
    if started is None or request.path == METRICS_PATH:
        return response
    labels = (request.method, request.endpoint or "unmatched", str(response.status_code))
    instruments = current_app.extensions["metrics"]
    instruments["requests"].labels(*labels).inc()
    instruments["latency"].labels(*labels).observe(time.perf_counter() - started)
    return response


def metrics_view() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    if token:
        header = request.headers.get("Authorization", "")
        supplied = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            raise Unauthorized(
                "Metrics need Authorization: Bearer <METRICS_TOKEN>",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    return Response(
        generate_latest(_exposed_registry()), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


def _exposed_registry() -> CollectorRegistry:
    directory = current_app.config["PROMETHEUS_MULTIPROC_DIR"]
    if not directory:
        return _registry
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


def init_metrics(app: Flask) -> None:
    if not app.config["METRICS_ENABLED"]:
        return
    disable_created_metrics()  # no *_created series: they double the output for nothing
    app.extensions["metrics"] = _get_instruments()
    app.after_request(_observe)
    app.add_url_rule(METRICS_PATH, "metrics", metrics_view, methods=["GET"])
