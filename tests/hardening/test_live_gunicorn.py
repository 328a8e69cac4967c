"""The real thing: gunicorn.conf.py, 3 workers, limits counted in Redis across all of them.

Each worker counts against the same Redis keys, so the 21st request in the window is refused
whichever worker answers it; /metrics sums every worker's samples; a chunked 2 MB body is
refused; with Redis unreachable the API keeps answering.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from tests.live_server import ROOT, free_port, running_gunicorn

pytestmark = [pytest.mark.live_server_only, pytest.mark.slow]

REDIS_URL = "redis://127.0.0.1:6379/15"
BUDGET = 20
REFUSAL_BURST = 9
METRICS_TOKEN = "metrics-token-0123456789"


def _migrated_sqlite(folder: Path) -> str:
    url = f"sqlite:///{folder / 'live.db'}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "true"}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return url


@contextlib.contextmanager
def gunicorn(folder: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """gunicorn (gunicorn.conf.py, 3 workers unless WEB_CONCURRENCY says otherwise) on a
    migrated SQLite file; yields the base URL and the log file."""
    port = free_port()
    log_path = folder / f"gunicorn-{port}.log"
    settings = {
        "COOKIE_SECURE": "false",
        "GUNICORN_THREADS": "2",
        "LOG_LEVEL": "INFO",
        "TRUSTED_PROXIES": "0",
        "UPLOAD_FOLDER": str(folder / "uploads"),
        **env,
    }
    workers = int(settings.pop("WEB_CONCURRENCY", "3"))
    with running_gunicorn(
        _migrated_sqlite(folder), settings, port=port, workers=workers, log_path=log_path
    ) as base:
        yield base, log_path


def _redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:  # CI guarantees Redis: its absence is a failure
        raise AssertionError(f"these tests need Redis at {REDIS_URL}: {exc}") from exc
    return client


@pytest.fixture(scope="module")
def redis_server():
    return _redis()


@pytest.fixture(scope="module")
def live(tmp_path_factory, redis_server):
    prefix = f"hardening-{uuid.uuid4().hex[:10]}"
    folder = tmp_path_factory.mktemp("live-hardening")
    (folder / "prometheus").mkdir()
    with gunicorn(
        folder,
        REDIS_URL=REDIS_URL,
        RATE_LIMIT_ENABLED="true",
        RATE_LIMIT_REQUESTS=str(BUDGET),
        RATE_LIMIT_WINDOW_SEC="600",
        RATE_LIMIT_KEY_PREFIX=prefix,
        CACHE_KEY_PREFIX=f"{prefix}-cache:",
        METRICS_ENABLED="true",
        METRICS_TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(folder / "prometheus"),
    ) as (base, log_path):
        yield {"base": base, "log": log_path, "prefix": prefix}
    for key in redis_server.scan_iter(match=f"{prefix}*"):
        redis_server.delete(key)


def _fresh_budget(redis_server, live) -> None:
    for key in redis_server.scan_iter(match=f"{live['prefix']}:*"):
        redis_server.delete(key)


def _get(url: str, request_id: str | None = None, **headers) -> requests.Response:
    """A new connection per request, so the kernel hands it to any of the workers."""
    headers = {"Connection": "close", **headers}
    if request_id:
        headers["X-Request-ID"] = request_id
    return requests.get(url, headers=headers, timeout=30)


def _pids(log_path: Path, request_ids: set[str]) -> set[int]:
    pids = set()
    for line in log_path.read_text().splitlines():
        if line.startswith("{") and '"slippers.request"' in line:
            entry = json.loads(line)
            if entry.get("request_id") in request_ids:
                pids.add(entry["pid"])
    return pids


def _metric(text: str, endpoint: str, status: int) -> float:
    prefix = "slippers_http_requests_total{"
    for line in text.splitlines():
        if (
            line.startswith(prefix)
            and f'endpoint="{endpoint}"' in line
            and f'status="{status}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_budget_is_shared_by_all_workers(live, redis_server):
    base, log_path = live["base"], live["log"]
    metrics_before = _get(f"{base}/metrics", Authorization=f"Bearer {METRICS_TOKEN}").text
    _fresh_budget(redis_server, live)

    # /auth/me (401 without a token) rather than /health, which the start-up wait polls.
    run = uuid.uuid4().hex[:8]
    allowed = [_get(f"{base}/auth/me", f"{run}-ok-{n}") for n in range(BUDGET)]
    # Counted per worker, 3 workers would allow 3 x BUDGET: here the 21st is refused.
    assert [r.status_code for r in allowed] == [401] * BUDGET

    # Sequential connections may all land on the one worker that is awake (the kernel picks),
    # so the refusals come in concurrent bursts, which all the workers race to accept.
    refused_ids: set[str] = set()
    refused: list[requests.Response] = []
    with ThreadPoolExecutor(max_workers=REFUSAL_BURST) as pool:
        for burst in range(30):  # until refusals came from at least two different workers
            ids = [f"{run}-no-{burst}-{n}" for n in range(REFUSAL_BURST)]
            refused_ids.update(ids)
            refused.extend(pool.map(lambda rid: _get(f"{base}/auth/me", rid), ids))
            if len(_pids(log_path, refused_ids)) >= 2:
                break
    for response in refused:
        assert response.status_code == 429
        body = response.json()
        assert body["code"] == 429 and body["status"] == "Too Many Requests"
        assert 1 <= int(response.headers["Retry-After"]) <= 601  # the reset second is rounded up
        assert response.headers["X-RateLimit-Limit"] == str(BUDGET)
        assert response.headers["X-RateLimit-Remaining"] == "0"
    ok_ids = {f"{run}-ok-{n}" for n in range(BUDGET)}
    assert len(_pids(log_path, refused_ids)) >= 2
    assert len(_pids(log_path, ok_ids | refused_ids)) >= 2

    # /metrics (not limited itself) sums every worker's counts.
    unauthorised = _get(f"{base}/metrics")
    assert unauthorised.status_code == 401 and unauthorised.json()["code"] == 401
    metrics = _get(f"{base}/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert metrics.status_code == 200
    for status, count in ((401, BUDGET), (429, len(refused))):
        before = _metric(metrics_before, "auth.Me", status)
        assert _metric(metrics.text, "auth.Me", status) - before == count


def test_docs_and_webhook_are_never_limited(live, redis_server):
    base = live["base"]
    _fresh_budget(redis_server, live)
    for _ in range(BUDGET):
        _get(f"{base}/health")
    assert _get(f"{base}/health").status_code == 429

    def hit(n: int) -> list[int]:
        codes = [_get(f"{base}{path}").status_code for path in ("/docs", "/openapi.json")]
        webhook = requests.post(
            f"{base}/payments/octo/notify",
            json={"shop_transaction_id": f"nope-{n}", "status": "succeeded"},
            headers={"Connection": "close"},
            timeout=30,
        )
        return [*codes, webhook.status_code]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(hit, range(BUDGET + 5)))
    for docs, spec, webhook in results:
        assert (docs, spec) == (200, 200)
        assert webhook not in (429, 500)


def test_chunked_and_sized_bodies_over_the_limit_are_413(live):
    """The answer comes before the whole body is read, so the server may hang up while the
    client is still sending (as curl does, the client then reads the answer)."""
    host, port = live["base"].removeprefix("http://").split(":")
    body = json.dumps({"username": "u" * (2 * 1024 * 1024), "password": "x"}).encode()
    for chunked in (True, False):
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {"Content-Type": "application/json"}
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if chunked:
                    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
                    connection.request(
                        "POST", "/auth/register", body=chunks, headers=headers, encode_chunked=True
                    )
                else:
                    connection.request("POST", "/auth/register", body=body, headers=headers)
            response = connection.getresponse()
            payload = json.loads(response.read())
        finally:
            connection.close()
        assert response.status == 413, chunked
        assert payload["code"] == 413


def test_redis_unreachable_the_api_keeps_answering(tmp_path):
    with gunicorn(
        tmp_path,
        REDIS_URL="redis://127.0.0.1:1/0",
        RATE_LIMIT_ENABLED="true",
        RATE_LIMIT_REQUESTS="1000",
        WEB_CONCURRENCY="2",
    ) as (base, log_path):
        for _ in range(6):
            assert _get(f"{base}/health").status_code == 200
            assert _get(f"{base}/slippers/").status_code == 200
        login = requests.post(
            f"{base}/auth/login", json={"username": "ghost", "password": "x" * 12}, timeout=30
        )
        assert login.status_code == 401
        ready = _get(f"{base}/health/ready")
        assert ready.status_code == 503
        assert ready.json()["errors"]["redis"] == "unavailable"
    log = log_path.read_text()
    assert "falling back to in-memory storage" in log
    assert '"status": 500' not in log
