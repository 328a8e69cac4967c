"""Gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be changed through the environment (read with config.py's helpers, which
also load `.env`); docs/PRODUCTION.md lists them.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config import env_bool, env_int, env_str

bind = env_str("BIND", "127.0.0.1:8000")

# 2 x cores + 1, never more than WEB_CONCURRENCY when that is set.
_default_workers = multiprocessing.cpu_count() * 2 + 1
_cap = env_int("WEB_CONCURRENCY", 0)
workers = min(_default_workers, _cap) if _cap > 0 else _default_workers
# Threads let one slow call (the OCTO gateway may take OCTO_TIMEOUT_SEC) not block a worker.
worker_class = "gthread"
threads = env_int("GUNICORN_THREADS", 4)

# A request may wait on OCTO for OCTO_TIMEOUT_SEC x (OCTO_RETRIES + 1): keep this above it.
timeout = env_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = env_int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (a leak stays small); jitter keeps them from restarting at once.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = env_int("GUNICORN_MAX_REQUESTS_JITTER", 200)
preload_app = False
# The app answers over-long query strings itself (414 in the JSON error shape); let them in.
limit_request_line = 8190
# gunicorn's control socket (for `gunicornc`) lives at one path per user: off unless asked,
# so several instances on one host do not fight over it.
control_socket_disable = not env_bool("GUNICORN_CONTROL_SOCKET", False)
# Heartbeat files in RAM: a slow disk must not make the master think workers hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# X-Forwarded-Proto is believed only from these addresses (the client IP is the app's
# business: TRUSTED_PROXIES and ProxyFix).
forwarded_allow_ips = env_str("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The app writes one JSON line per request; gunicorn's own access log is off unless asked.
accesslog = "-" if env_bool("ACCESS_LOG", False) else None
access_log_format = (
    '{"logger": "gunicorn.access", "remote_ip": "%(h)s", "request_id": "%({x-request-id}o)s", '
    '"method": "%(m)s", "path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", '
    '"duration_ms": %(M)s}'
)
errorlog = "-"
loglevel = env_str("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "slippers.logs.RedactingFilter"}},
    "formatters": {
        "json": {"()": "slippers.logs.JsonFormatter"},
        "raw": {"format": "%(message)s"},
    },
    "handlers": {
        "json": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact"],
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "raw",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"level": loglevel.upper(), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}

# Prometheus in multiprocess mode: workers write samples to files in this folder and
# /metrics sums them. It must be in the environment before the workers import the app.
if env_bool("METRICS_ENABLED", False) and not env_str("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="slippers-prometheus-")


def on_starting(server):
    """Samples left by an earlier run would be added to this one's: start empty."""
    directory = env_str("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for path in glob.glob(os.path.join(directory, "*.db")):
            os.remove(path)


def child_exit(server, worker):
    """A dead worker's live gauges must not be reported any more."""
    if env_str("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
