"""Order creation under gunicorn on PostgreSQL: throughput and latency percentiles.

    .venv/bin/python bench/orders_bench.py [--seconds 10] [--buyers 16] [--workers N]

Creates its own database (`--database-url`, default `slippers_bench_orders` on the local
PostgreSQL; dropped at the end unless `--keep-db`), migrates it, seeds 100 slippers and
one user per buyer, starts gunicorn (the repo's gunicorn.conf.py, with `--workers`), logs
every buyer in, then runs, each for `--seconds` or `--max-requests`:

  health   GET /health, the same server with no database work (the ceiling to compare to)
  spread   POST /orders/, each order one random slipper of the 100 (little row contention)
  hot      POST /orders/, every buyer on the same slipper (every order locks the same row)

Each buyer is a thread with its own requests.Session (keep-alive). Latency is measured
by the client, so it includes the client's own overhead on a shared machine; the CPU
time per request of the gunicorn workers ("app") and of this database's PostgreSQL
backends ("db"), read from /proc, holds even when other work shares the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "Bench-Password-42"
SECRET = "bench-secret-key-0123456789abcdef"
SLIPPERS = 100
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/slippers_bench_orders"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--buyers", type=int, default=16)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument(
        "--scenarios", default="health,spread,hot", help="comma-separated subset to run"
    )
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args()


def recreate_database(url: str) -> None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit("The benchmark needs PostgreSQL (--database-url postgresql://...)")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def prepare(url: str, buyers: int):
    """Migrate and seed; return (app, slipper ids, usernames)."""
    from flask_migrate import upgrade

    from slippers import create_app
    from slippers.auth.models import User
    from slippers.auth.passwords import hash_password
    from slippers.catalog.models import Slipper
    from slippers.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": "",
        }
    )
    with app.app_context():
        upgrade()
        slippers = [
            Slipper(
                name=f"Bench slipper {n}",
                size=str(36 + n % 10),
                price=Decimal("12345.67"),
                quantity=10_000_000,
            )
            for n in range(SLIPPERS)
        ]
        names = [f"bench_{uuid.uuid4().hex[:10]}" for _ in range(buyers)]
        password_hash = hash_password(PASSWORD)
        db.session.add_all(slippers)
        db.session.add_all(
            User(username=n, username_key=n, password_hash=password_hash, is_active=True)
            for n in names
        )
        db.session.commit()
        return app, [s.id for s in slippers], names


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, workers: int):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "DEBUG": "false",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG": "false",
        "REDIS_URL": "",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--max-requests",
            "0",  # no recycling: the CPU accounting below follows the same worker pids
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited early")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/health", timeout=1).ok:
                return server, base
        time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def cpu_seconds(pids) -> dict[int, float]:
    """utime + stime of each live process, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def server_pids(server, app) -> tuple[list[int], list[int]]:
    """The gunicorn workers (children of the master) and this database's PostgreSQL backends."""
    from slippers.extensions import db

    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server.pid:
                workers.append(int(stat.parent.name))
    with app.app_context():
        backends = db.session.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        ).scalars()
        backends = list(backends)
        db.session.remove()
    return workers, backends


def cpu_per_request(before: dict, after: dict, requests_done: int) -> float:
    """Milliseconds of CPU per request between two `cpu_seconds` readings."""
    used = sum(after[pid] - before.get(pid, 0.0) for pid in after)
    return used * 1000 / max(requests_done, 1)


def login(base: str, names: list[str]) -> list[requests.Session]:
    sessions = []
    for name in names:
        session = requests.Session()
        response = session.post(
            f"{base}/auth/login", json={"username": name, "password": PASSWORD}, timeout=10
        )
        response.raise_for_status()
        session.cookies.clear()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        sessions.append(session)
    return sessions


def run(sessions, request, seconds: float, max_requests: int) -> dict:
    """Every session loops `request(session, rng)` until the time or request budget ends."""
    latencies: list[float] = []
    codes: Counter = Counter()
    lock = threading.Lock()
    budget = iter(range(max_requests))
    start_gate = threading.Barrier(len(sessions) + 1)
    deadline = 0.0

    def buyer(session, seed):
        rng = random.Random(seed)
        mine: list[float] = []
        my_codes: Counter = Counter()
        start_gate.wait()
        while time.perf_counter() < deadline:
            with lock:
                if next(budget, None) is None:
                    break
            began = time.perf_counter()
            status = request(session, rng)
            mine.append(time.perf_counter() - began)
            my_codes[status] += 1
        with lock:
            latencies.extend(mine)
            codes.update(my_codes)

    threads = [threading.Thread(target=buyer, args=(s, n)) for n, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "requests": len(ordered),
        "per_sec": len(ordered) / elapsed,
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
        "codes": dict(sorted(codes.items())),
    }


def order_request(base: str, pick):
    def request(session, rng):
        body = {"items": [{"slipper_id": pick(rng), "quantity": 1}]}
        return session.post(f"{base}/orders/", json=body, timeout=30).status_code

    return request


def check_stock(app, slipper_ids: list[int], placed: int) -> None:
    """Stock taken must equal the pairs ordered (one per 201)."""
    from slippers.catalog.models import Slipper
    from slippers.extensions import db
    from slippers.orders.models import OrderItem

    with app.app_context():
        taken = db.session.execute(
            select(func.sum(10_000_000 - Slipper.quantity)).where(Slipper.id.in_(slipper_ids))
        ).scalar_one()
        lines = db.session.execute(select(func.sum(OrderItem.quantity))).scalar_one()
        db.engine.dispose()
    status = "ok" if taken == lines == placed else "MISMATCH"
    print(f"stock check: {taken} pairs taken, {lines} ordered, {placed} x 201 -> {status}")


def main() -> None:
    args = parse_args()
    recreate_database(args.database_url)
    app, slipper_ids, names = prepare(args.database_url, args.buyers)
    server, base = start_server(args.database_url, args.workers)
    placed = 0
    try:
        sessions = login(base, names)
        hot = slipper_ids[0]
        scenarios = [
            ("health", lambda s, rng: s.get(f"{base}/health", timeout=30).status_code),
            ("spread", order_request(base, lambda rng: rng.choice(slipper_ids))),
            ("hot", order_request(base, lambda rng: hot)),
        ]
        run(sessions, scenarios[1][1], 1.0, 200)  # warm-up: connections, worker imports
        print(
            f"gunicorn workers={args.workers}, buyers={args.buyers}, "
            f"{args.seconds:g}s or {args.max_requests} requests per scenario, "
            f"{os.cpu_count()} CPUs shared by client, server and PostgreSQL"
        )
        print(
            f"{'scenario':8} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} "
            f"{'p99 ms':>7} {'max ms':>7}  codes"
        )
        chosen = set(args.scenarios.split(","))
        for name, request in (s for s in scenarios if s[0] in chosen):
            workers, backends = server_pids(server, app)
            app_cpu, db_cpu = cpu_seconds(workers), cpu_seconds(backends)
            r = run(sessions, request, args.seconds, args.max_requests)
            app_ms = cpu_per_request(app_cpu, cpu_seconds(workers), r["requests"])
            db_ms = cpu_per_request(db_cpu, cpu_seconds(backends), r["requests"])
            placed += r["codes"].get(201, 0)
            print(
                f"{name:8} {r['requests']:8d} {r['per_sec']:8.1f} {r['p50']:7.1f} "
                f"{r['p90']:7.1f} {r['p99']:7.1f} {r['max']:7.1f} "
                f"{app_ms:6.2f} app {db_ms:4.2f} db  {r['codes']}"
            )
        for session in sessions:
            session.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    warmup_orders = None
    with app.app_context():
        from slippers.extensions import db
        from slippers.orders.models import Order

        warmup_orders = db.session.execute(select(func.count()).select_from(Order)).scalar_one()
        db.engine.dispose()
    check_stock(app, slipper_ids, warmup_orders)
    print(f"({placed} orders in the measured runs, {warmup_orders - placed} in the warm-up)")
    if not args.keep_db:
        drop_database(args.database_url)


if __name__ == "__main__":
    main()
