"""Catalog benchmark: the real app under gunicorn against a bare Flask ceiling, same run.

    .venv/bin/python bench/catalog_bench.py [--rows 10000] [--duration 10] [--connections 16]

Creates a PostgreSQL database (default `slippers_bench_catalog`, dropped again at the end),
migrates it, loads ROWS slippers (each with a primary image row), starts gunicorn twice on
loopback ports (2 workers, `wsgi:app` and a bare Flask app answering constant JSON), and
drives both with wrk. Prints requests/s and p50/p99 for:

  ceiling        GET /                         bare Flask, constant JSON
  list warm      GET /slippers/?page_size=20   the same cached page again and again
  list uncached pages  GET /slippers/?page_size=20&page=N&sort=S&include_images=B
                 every request a page no worker has cached (one search: its count is shared)
  list new search  GET /slippers/?page_size=20&page=N&max_price=M
                 worst case: every request a new search, so nothing at all is cached
  detail warm    GET /slippers/{id}
  detail random id  GET /slippers/{random id}  mostly misses at first, then hits
  ceiling again  GET /                         once more at the end (the share uses the mean)

Goals: warm list >= 60 % of the ceiling's requests/s; uncached pages p99 < 50 ms.
Needs `wrk` (apt-get install -y wrk). Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

THREAD_IDS_LUA = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
"""

# Every request a page no worker has cached yet: all pages x 6 sorts x with/without images,
# walked by the wrk threads on disjoint sequences. One search, so its count is shared.
UNCACHED_PAGES_LUA = (
    THREAD_IDS_LUA
    + """
counter = 0
sorts = {"-created_at", "created_at", "price", "-price", "name", "-name"}
request = function()
  counter = counter + 1
  local n = counter * THREADS + tid
  local page = (n % PAGES) + 1
  local sort = sorts[(math.floor(n / PAGES) % 6) + 1]
  local images = (math.floor(n / (PAGES * 6)) % 2 == 1) and "true" or "false"
  return wrk.format(nil, "/slippers/?page_size=20&page=" .. page .. "&sort=" .. sort
    .. "&include_images=" .. images)
end
"""
)

# The worst case: every request a new search (a max_price never seen), so neither the
# page nor its count can come from the cache.
NEW_SEARCH_LUA = """
counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  local page = (counter % PAGES) + 1
  local max_price = 1000000 + tid * 10000000 + counter
  return wrk.format(nil, "/slippers/?page_size=20&page=" .. page .. "&max_price=" .. max_price)
end
"""

RANDOM_DETAIL_LUA = """
math.randomseed(os.time())
request = function()
  return wrk.format(nil, "/slippers/" .. math.random(LOW, HIGH))
end
"""


def make_bare_app():
    """The ceiling: Flask with one constant JSON route, nothing else."""
    from flask import Flask, jsonify

    app = Flask("bare")

    @app.get("/")
    def index():
        return jsonify(status="ok", items=[])

    return app


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="slippers_bench_catalog")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", help="sync or gthread")
    parser.add_argument("--worker-threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def admin_connection(pg: str):
    import psycopg2

    conn = psycopg2.connect(f"{pg}/postgres")
    conn.autocommit = True
    return conn


def recreate_database(pg: str, name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"unsafe database name {name!r}")
    conn = admin_connection(pg)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()


def drop_database(pg: str, name: str) -> None:
    conn = admin_connection(pg)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    conn.close()


def app_env(database_url: str, upload_dir: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))}
    env.update(
        {
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "DATABASE_URL": database_url,
            "RATE_LIMIT_ENABLED": "false",
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
            "UPLOAD_FOLDER": upload_dir,
            "COOKIE_SECURE": "false",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def migrate(env: dict) -> None:
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def load_catalog(database_url: str, rows: int) -> tuple[int, int]:
    """Insert `rows` slippers (and a primary image row each); returns the id range."""
    import psycopg2
    from psycopg2.extras import execute_values

    rng = random.Random(7)
    now = datetime.now(UTC)
    models = ["Velvet", "Felt", "Slide", "Flip-Flop", "Bunny", "Classic", "Ikat", "Suzani"]
    places = ["Samarkand", "Bukhara", "Fergana", "Tashkent", "Khiva", "Namangan", "Termez"]
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO categories (name, name_key, description, is_active, created_at, "
            "updated_at) VALUES %s RETURNING id",
            [(f"Category {n}", f"category {n}", None, True, now, now) for n in range(8)],
        )
        category_ids = [row[0] for row in cur.fetchall()]
        slippers = []
        for n in range(rows):
            created = now - timedelta(seconds=rows - n)
            slippers.append(
                (
                    f"{rng.choice(places)} {rng.choice(models)} {n}",
                    f"Demo slipper number {n}, soft and warm.",
                    str(36 + n % 11),
                    Decimal(rng.randrange(89_000, 450_001, 1000)),
                    rng.choice((0, 1, 5, 12, 40)),
                    rng.choice(category_ids),
                    created,
                    created,
                )
            )
        execute_values(
            cur,
            "INSERT INTO slippers (name, description, size, price, quantity, category_id, "
            "created_at, updated_at) VALUES %s RETURNING id",
            slippers,
            page_size=1000,
        )
        cur.execute("SELECT min(id), max(id) FROM slippers")
        low, high = cur.fetchone()
        cur.execute(
            "INSERT INTO slipper_images (slipper_id, filename, content_type, width, height, "
            "size_bytes, order_index, is_primary, created_at) "
            "SELECT id, md5(id::text) || '.png', 'image/png', 640, 480, 20000, 0, true, now() "
            "FROM slippers"
        )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.close()
    return low, high


def start_gunicorn(target: str, port: int, env: dict, args, config_file: str, cwd: Path):
    command = [
        str(VENV_BIN / "gunicorn"),
        "--config",
        config_file,
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.worker_threads),
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        target,
    ]
    return subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True)


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_wrk(url: str, args, script: str | None = None) -> dict:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    script_file = None
    if script:
        script_file = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script_file.write(script)
        script_file.close()
        command += ["-s", script_file.name]
    command.append(url)
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        if script_file:
            os.unlink(script_file.name)
    return parse_wrk(output)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
    }


def main() -> int:
    args = parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    database_url = f"{args.pg}/{args.db}"
    workdir = Path(tempfile.mkdtemp(prefix="catalog-bench-"))
    empty_config = workdir / "gunicorn_bench.conf.py"  # not the repo's gunicorn.conf.py
    empty_config.write_text("# benchmark: gunicorn defaults plus command-line flags\n")
    env = app_env(database_url, str(workdir / "uploads"))
    started = time.monotonic()
    print(f"database {args.db}: creating, migrating, loading {args.rows} slippers ...")
    recreate_database(args.pg, args.db)
    servers = []
    try:
        migrate(env)
        low, high = load_catalog(database_url, args.rows)
        app_port, bare_port = free_port(), free_port()
        servers.append(start_gunicorn("wsgi:app", app_port, env, args, str(empty_config), ROOT))
        bare_env = {**env, "PYTHONPATH": str(ROOT / "bench")}
        servers.append(
            start_gunicorn(
                "catalog_bench:make_bare_app()",
                bare_port,
                bare_env,
                args,
                str(empty_config),
                ROOT / "bench",
            )
        )
        app_url, bare_url = f"http://{HOST}:{app_port}", f"http://{HOST}:{bare_port}"
        wait_until_up(f"{bare_url}/")
        wait_until_up(f"{app_url}/slippers/?page_size=20")
        detail_id = high
        for _ in range(4):  # both workers warm, both caches filled
            wait_until_up(f"{app_url}/slippers/?page_size=20")
            wait_until_up(f"{app_url}/slippers/{detail_id}")
        pages = max(1, args.rows // 20)
        runs = [
            ("ceiling (bare Flask)", f"{bare_url}/", None),
            ("list warm", f"{app_url}/slippers/?page_size=20", None),
            (
                "list uncached pages",
                app_url,
                UNCACHED_PAGES_LUA.replace("PAGES", str(pages)).replace(
                    "THREADS", str(args.threads)
                ),
            ),
            ("list new search", app_url, NEW_SEARCH_LUA.replace("PAGES", str(pages))),
            ("detail warm", f"{app_url}/slippers/{detail_id}", None),
            (
                "detail random id",
                app_url,
                RANDOM_DETAIL_LUA.replace("LOW", str(low)).replace("HIGH", str(high)),
            ),
            ("ceiling again", f"{bare_url}/", None),  # the machine's load may have moved
        ]
        results = {}
        for name, url, script in runs:
            results[name] = run_wrk(url, args, script)
            print(f"  measured {name}")
    finally:
        for server in servers:
            stop(server)
        if not args.keep_db:
            drop_database(args.pg, args.db)
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, args, time.monotonic() - started)
    return 0


def report(results: dict, args, elapsed: float) -> None:
    print()
    print(
        f"{args.rows} slippers, gunicorn {args.workers} x {args.worker_class}, "
        f"wrk {args.threads} threads / {args.connections} connections / {args.duration}s each"
    )
    print(f"{'run':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  errors")
    for name, r in results.items():
        errors = f"{r['non_2xx']} non-2xx" + (
            f"; socket: {r['socket_errors']}" if r["socket_errors"] else ""
        )
        print(f"{name:<22}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}  {errors}")
    ceiling = (results["ceiling (bare Flask)"]["rps"] + results["ceiling again"]["rps"]) / 2
    warm_share = results["list warm"]["rps"] / ceiling if ceiling else 0.0
    uncached_p99 = results["list uncached pages"]["p99"]
    print()
    verdict = "met" if warm_share >= 0.60 else "MISSED"
    print(f"warm list = {warm_share:.0%} of the mean ceiling (goal >= 60 %): {verdict}")
    verdict = "met" if uncached_p99 < 50 else "MISSED"
    print(f"uncached pages p99 = {uncached_p99:.1f} ms (goal < 50 ms): {verdict}")
    print(f"total run time {elapsed:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
