"""Real servers for tests: the session app in a thread, or gunicorn on its own database.

`serve_in_thread(app)` serves the test's app (and so the test's rolled-back transaction:
the session app's engine entry is the test connection) over real HTTP, one request at a
time, for code that must be called back by another server (the OCTO sandbox).
`own_postgres_database` and `running_gunicorn` give real parallel workers on a database
that is committed for real (tests marked `live_server_only`); `bearer_session` logs a user
in to such a server and `all_at_once` sends requests to it that really overlap.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(app) -> Iterator[str]:
    """The app on a free loopback port (threaded server, requests run one at a time)."""
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:  # the test connection is shared: never two requests on it at once
            response = app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                if hasattr(response, "close"):
                    response.close()

    server = make_server("127.0.0.1", 0, one_at_a_time, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextlib.contextmanager
def own_postgres_database(test_url: str, suffix: str) -> Iterator[str]:
    """A fresh database `<test database>_<suffix>` next to the test one, dropped afterwards."""
    url = make_url(test_url)
    live = url.set(database=f"{url.database}_{suffix}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{live.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{live.database}"'))
    try:
        yield live.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{live.database}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def running_gunicorn(
    database_url: str, env: Mapping[str, str], *, port: int, workers: int, log_path: Path
) -> Iterator[str]:
    """gunicorn (wsgi:app, the project's gunicorn.conf.py) with `env` on top of the basics."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "live-test-secret-key-0123456789abcdef",
        "DEBUG": "false",
        "RATE_LIMIT_ENABLED": "false",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "LOG_LEVEL": "WARNING",
        # Its database is new, so its cache must be too: ids restart at 1 on every run.
        "CACHE_KEY_PREFIX": f"slippers-live-{uuid.uuid4().hex[:8]}:",
        **env,
    }
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers)]
    command += ["--bind", f"127.0.0.1:{port}", "--timeout", "60", "wsgi:app"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server, log_path)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_healthy(base: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-2000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not become healthy: {log_path.read_text()[-2000:]}")


def bearer_session(base_url: str, username: str, password: str) -> requests.Session:
    """A session logged in as the user that sends the Bearer token and no cookie."""
    session = requests.Session()
    response = session.post(
        f"{base_url}/auth/login", json={"username": username, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    session.cookies.clear()  # Bearer only: no CSRF dance
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the callables in threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
