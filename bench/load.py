"""Load benchmark: a realistic request mix against gunicorn on PostgreSQL and Redis.

    .venv/bin/python bench/load.py [--duration 60] [--workers 2,4] [--connections 16]
    .venv/bin/python bench/load.py --soak [--soak-minutes 10] [--workers 2]   (by hand)

Creates the PostgreSQL database `slippers_bench_load` (dropped at the end unless --keep-db),
migrates it with `flask db upgrade`, bulk-inserts 10,000 slippers (SQLAlchemy core, in this
process) and the buyers, and starts the OCTO sandbox on a loopback port. Then, for each
gunicorn worker count, under the same gunicorn settings (gthread, 4 threads, no recycling):

  ceiling  a bare Flask app answering constant JSON, driven by the same client
  full     the shop (`wsgi:app`; Redis db 14 for the cache; RATE_LIMIT_ENABLED=false so the
           load is not throttled) as fast as the client's connections go, for --duration:
           80 % list/search `GET /slippers/?page&q&sort`, 15 % detail, 4 % `POST /orders/`
           (Bearer tokens of pre-registered buyers, an Idempotency-Key each), 1 %
           `POST /payments/octo/notify` (signed `succeeded` callbacks built by the sandbox
           for payments opened during set-up; each is delivered several times, as OCTO
           repeats callbacks)
  paced    the same mix at --paced-share (70 %) of the full-speed rate, for --duration

Full speed is a closed loop: --connections threads, each with its own keep-alive
http.client connection, send the next request as soon as the last one is answered, so the
latencies there include queueing at saturation. Paced threads send on a fixed schedule
(open loop) and time each request from the moment it was due, so a stalled server cannot
hide its queue. Client, server, PostgreSQL and Redis share the machine's cores.

--soak: full speed for --calibrate seconds, then the paced mix for --soak-minutes,
sampling every worker's RSS every 10 s; reports RSS growth, errors per minute and stock
consistency. Only 127.0.0.1 is used; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import logging
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
PASSWORD = "Bench-Load-Password-42"
SECRET = "bench-load-secret-key-0123456789abcdef"
HASH_METHOD = "pbkdf2:sha256:1000"
MIX = (("list", 80), ("detail", 15), ("order", 4), ("webhook", 1))
KINDS = [kind for kind, _ in MIX]
EXPECTED = {"list": {200}, "detail": {200}, "order": {201, 409}, "webhook": {200}, "bare": {200}}
GOALS = {"list": ("p95", 100.0), "order": ("p95", 200.0), "webhook": ("p99", 100.0)}
PLACES = ["Samarkand", "Bukhara", "Fergana", "Tashkent", "Khiva", "Namangan", "Termez"]
MODELS = ["Velvet", "Felt", "Slide", "Bunny", "Classic", "Ikat", "Suzani", "Terry"]
STUFF = ["wool", "felt", "cotton", "suede", "silk"]
SEARCH_TERMS = [*PLACES, *MODELS, *STUFF, "41", "warm", "soft", "no-such-slipper"]
MAX_LAG_SEC = 15.0
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")
SORTS = ["-created_at"] * 4 + ["price", "-price", "name", "-name", "created_at"]


def make_bare_app():
    """The ceiling: Flask with one constant JSON route and nothing else."""
    from flask import Flask, jsonify

    app = Flask("bare")

    @app.get("/")
    def index():
        return jsonify(status="ok", items=[])

    return app


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="slippers_bench_load")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--payments", type=int, default=100, help="opened per worker count")
    parser.add_argument("--workers", default="2,4", help="gunicorn worker counts to measure")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--connections", type=int, default=16, help="client threads")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured mix")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--ceiling-seconds", type=float, default=20.0)
    parser.add_argument(
        "--paced-share", type=float, default=0.7, help="paced run's share of full speed (0: none)"
    )
    parser.add_argument("--log-level", default="INFO", help="the app's LOG_LEVEL")
    parser.add_argument("--soak", action="store_true")
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    parser.add_argument("--calibrate", type=float, default=30.0)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--mix", default=",".join(f"{k}={w}" for k, w in MIX), help="weights, e.g. list=1"
    )
    args = parser.parse_args()
    args.weights = dict.fromkeys(KINDS, 0)
    for part in args.mix.split(","):
        kind, _, weight = part.partition("=")
        if kind.strip() not in args.weights:
            parser.error(f"--mix: unknown request type {kind!r}")
        args.weights[kind.strip()] = int(weight)
    for url in (args.pg, args.redis):
        if urlsplit(url).hostname not in {"127.0.0.1", "localhost", "::1"}:
            parser.error(f"{url}: only loopback addresses are allowed")
    args.worker_counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if args.soak:
        args.worker_counts = args.worker_counts[:1]
        args.paced_share = args.paced_share or 0.7
    return args


# --- database -----------------------------------------------------------------------------


def admin_engine(pg: str):
    from sqlalchemy import create_engine

    return create_engine(f"{pg}/postgres", isolation_level="AUTOCOMMIT")


def recreate_database(pg: str, name: str, *, create: bool = True) -> None:
    from sqlalchemy import text

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"unsafe database name {name!r}")
    engine = admin_engine(pg)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        if create:
            conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()


@dataclass
class Catalog:
    ids: list[int]
    popular: list[int]
    initial: dict[int, int]
    usernames: list[str]


def seed(database_url: str, rows: int, buyers: int) -> Catalog:
    """Categories, `rows` slippers (a primary image row each) and buyers, in bulk."""
    from sqlalchemy import create_engine, insert, text
    from werkzeug.security import generate_password_hash

    from slippers.auth.models import User
    from slippers.catalog.models import Category, Slipper

    rng = random.Random(7)
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        categories = [{"name": f"Category {n}", "name_key": f"category {n}"} for n in range(8)]
        category_ids = conn.execute(
            insert(Category).returning(Category.id, sort_by_parameter_order=True), categories
        ).scalars()
        category_ids = list(category_ids)
        slippers = []
        for n in range(rows):
            place, model, stuff = rng.choice(PLACES), rng.choice(MODELS), rng.choice(STUFF)
            created = now - timedelta(seconds=rows - n)
            slippers.append(
                {
                    "name": f"{place} {model} {n}",
                    "description": f"Soft, warm {stuff} slippers from {place}.",
                    "size": str(36 + n % 11),
                    "price": Decimal(rng.randrange(89_000, 450_001, 500)),
                    # A few nearly sold out: orders for them meet a 409 now and then.
                    "quantity": rng.randrange(0, 3)
                    if rng.random() < 0.03
                    else rng.randrange(50, 500),
                    "category_id": rng.choice(category_ids),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        rows_back = conn.execute(
            insert(Slipper).returning(Slipper.id, Slipper.quantity, sort_by_parameter_order=True),
            slippers,
        ).all()
        conn.execute(
            text(
                "INSERT INTO slipper_images (slipper_id, filename, content_type, width, height, "
                "size_bytes, order_index, is_primary, created_at) SELECT id, md5(id::text) || "
                "'.webp', 'image/webp', 640, 480, 24000, 0, true, now() FROM slippers"
            )
        )
        password_hash = generate_password_hash(PASSWORD, HASH_METHOD)
        usernames = [f"load_buyer_{n}" for n in range(buyers)]
        conn.execute(
            insert(User),
            [{"username": u, "username_key": u, "password_hash": password_hash} for u in usernames],
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    ids = [row.id for row in rows_back]
    popular = rng.sample(ids, min(200, len(ids)))
    return Catalog(ids, popular, {row.id: row.quantity for row in rows_back}, usernames)


def check_stock(database_url: str, initial: dict[int, int]) -> tuple[bool, str]:
    """Per slipper: pairs left + pairs in orders that hold stock == the initial stock."""
    from sqlalchemy import create_engine, func, select

    from slippers.catalog.models import Slipper
    from slippers.orders.models import Order, OrderItem

    engine = create_engine(database_url)
    with engine.connect() as conn:
        left = dict(conn.execute(select(Slipper.id, Slipper.quantity)).all())
        sold = dict(
            conn.execute(
                select(OrderItem.slipper_id, func.sum(OrderItem.quantity))
                .join(Order, Order.id == OrderItem.order_id)
                .where(Order.status.not_in(["cancelled", "refunded"]))
                .group_by(OrderItem.slipper_id)
            ).all()
        )
        orders = dict(conn.execute(select(Order.status, func.count()).group_by(Order.status)).all())
    engine.dispose()
    wrong = [i for i, start in initial.items() if left.get(i, 0) + sold.get(i, 0) != start]
    total_sold = sum(sold.values())
    summary = (
        f"initial {sum(initial.values())} = sold {total_sold} + left {sum(left.values())}; "
        f"orders by status {dict(sorted(orders.items()))}; "
        f"{len(wrong)} slippers inconsistent{' e.g. ' + str(wrong[:5]) if wrong else ''}"
    )
    return not wrong and sum(initial.values()) == total_sold + sum(left.values()), summary


# --- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def app_env(args, database_url: str, workdir: Path, sim_url: str, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))}
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis,
            "CACHE_KEY_PREFIX": args.cache_prefix,
            "RATE_LIMIT_KEY_PREFIX": f"{args.cache_prefix}rl",
            "RATE_LIMIT_ENABLED": "false",
            "COOKIE_SECURE": "false",
            "LOG_LEVEL": args.log_level,
            "PASSWORD_HASH_METHOD": HASH_METHOD,
            "ACCESS_TOKEN_EXPIRE_MINUTES": "240",
            "UPLOAD_FOLDER": str(workdir / "uploads"),
            "OCTO_API_BASE": sim_url,
            "OCTO_SHOP_ID": "1",
            "OCTO_SECRET": "sim-secret",
            "OCTO_UNIQUE_KEY": "sim-unique-key",
            "OCTO_NOTIFY_URL": f"http://{HOST}:{port}/payments/octo/notify",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def start_gunicorn(target: str, port: int, env: dict, args, workers: int, log: Path):
    # An empty config file: the settings are all here, not in the repo's gunicorn.conf.py.
    config = log.parent / "gunicorn_bench.conf.py"
    config.write_text("# load benchmark: gunicorn defaults plus command-line flags\n")
    command = [sys.executable, "-m", "gunicorn", "--config", str(config)]
    command += ["--workers", str(workers), "--worker-class", "gthread"]
    command += ["--threads", str(args.threads), "--keep-alive", "5", "--timeout", "60"]
    command += ["--max-requests", "0", "--bind", f"{HOST}:{port}", target]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health" if target == "wsgi:app" else "/")
            if conn.getresponse().status == 200 and len(worker_pids(process.pid)) == workers:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    stop(process)
    raise SystemExit(f"gunicorn did not come up; see {log}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def worker_pids(master: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(master: int, args) -> list[int]:
    """The gunicorn workers and the PostgreSQL backends serving the benchmark database."""
    from sqlalchemy import text

    engine = admin_engine(args.pg)
    with engine.connect() as conn:
        backends = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": args.db},
        ).scalars()
        backends = list(backends)
    engine.dispose()
    return worker_pids(master) + backends


def memory_kb(pid: int, field_name: str = "VmRSS") -> int:
    """VmRSS (now) or VmHWM (peak so far) of a process, in kB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- the load -----------------------------------------------------------------------------


@dataclass
class Shop:
    port: int
    catalog: Catalog
    tokens: list[str]
    callbacks: list[bytes]
    next_callback: itertools.count = field(default_factory=itertools.count)


def build_request(kind: str, shop: Shop, rng: random.Random) -> tuple[str, str, bytes | None, dict]:
    """(method, path, body, headers) of one request of the given kind."""
    headers = {"Accept-Encoding": "gzip", "Accept": "application/json"}
    if kind == "bare":
        return "GET", "/", None, headers
    if kind == "list":
        roll = rng.random()  # most shoppers stay on the first pages
        page = 1 if roll < 0.5 else rng.randrange(2, 6) if roll < 0.85 else rng.randrange(6, 51)
        path = f"/slippers/?page={page}&page_size=20&sort={rng.choice(SORTS)}"
        if rng.random() < 0.6:
            path += f"&q={quote(rng.choice(SEARCH_TERMS))}"
        return "GET", path, None, headers
    if kind == "detail":
        pool = shop.catalog.popular if rng.random() < 0.8 else shop.catalog.ids
        return "GET", f"/slippers/{rng.choice(pool)}", None, headers
    headers["Content-Type"] = "application/json"
    if kind == "order":
        lines = rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
        picks = {
            rng.choice(shop.catalog.popular if rng.random() < 0.6 else shop.catalog.ids)
            for _ in range(lines)
        }
        body = {"items": [{"slipper_id": i, "quantity": rng.randint(1, 2)} for i in picks]}
        headers["Authorization"] = f"Bearer {rng.choice(shop.tokens)}"
        headers["Idempotency-Key"] = uuid.uuid4().hex
        return "POST", "/orders/", json.dumps(body).encode(), headers
    body = shop.callbacks[next(shop.next_callback) % len(shop.callbacks)]
    return "POST", "/payments/octo/notify", body, headers


@dataclass
class Record:
    began: float  # when it was sent (paced: when it was due), perf_counter seconds
    kind: str
    status: int  # 0: the connection failed
    ms: float
    app_ms: float  # the app's own time (its Server-Timing header), without queueing


def drive(
    shop: Shop,
    kinds: list[str],
    weights: list[int],
    seconds: float,
    connections: int,
    rate: float = 0.0,
) -> tuple[list[Record], float, Counter]:
    """Run the mix from `connections` threads for `seconds`; (records, elapsed, failures)."""
    per_thread: list[list[Record]] = [[] for _ in range(connections)]
    failures: Counter = Counter()
    failures_lock = threading.Lock()
    gate = threading.Barrier(connections + 1)
    start = [0.0]

    def client(n: int) -> None:
        rng = random.Random(n * 7919 + int(time.time()))
        conn = http.client.HTTPConnection(HOST, shop.port, timeout=30)
        mine = per_thread[n]
        interval = connections / rate if rate else 0.0
        gate.wait()
        deadline = start[0] + seconds
        due = start[0] + rng.random() * interval
        while True:
            if rate:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            began = due if rate else time.perf_counter()
            if began >= deadline:
                break
            if time.perf_counter() > deadline + MAX_LAG_SEC:  # paced, and far behind
                with failures_lock:
                    failures["not sent: the server fell behind"] += int((deadline - due) / interval)
                break
            kind = rng.choices(kinds, weights)[0]
            method, path, body, headers = build_request(kind, shop, rng)
            try:
                conn.request(method, path, body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                timing = SERVER_TIMING.search(response.getheader("Server-Timing") or "")
                app_ms = float(timing.group(1)) if timing else 0.0
            except (OSError, http.client.HTTPException) as exc:
                with failures_lock:
                    failures[f"{kind}: {type(exc).__name__}"] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, shop.port, timeout=30)
                status, app_ms = 0, 0.0
            mine.append(Record(began, kind, status, (time.perf_counter() - began) * 1000, app_ms))
            due += interval
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(connections)]
    for thread in threads:
        thread.start()
    start[0] = time.perf_counter()
    gate.wait()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    elapsed = time.perf_counter() - start[0]
    return [r for records in per_thread for r in records], elapsed, failures


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def summarize(records: list[Record], elapsed: float) -> dict:
    out = {"rps": len(records) / elapsed if elapsed else 0.0, "kinds": {}}
    for kind in sorted({r.kind for r in records}, key=[*KINDS, "bare"].index):
        mine = [r for r in records if r.kind == kind]
        ms = [r.ms for r in mine]
        statuses = Counter(r.status for r in mine)
        out["kinds"][kind] = {
            "count": len(mine),
            "rps": len(mine) / elapsed,
            **{f"p{p}": percentile(ms, p) for p in (50, 95, 99)},
            "app50": percentile([r.app_ms for r in mine], 50),
            "statuses": dict(sorted(statuses.items())),
            "unexpected": sum(n for s, n in statuses.items() if s not in EXPECTED[kind]),
            "5xx": sum(n for s, n in statuses.items() if s >= 500),
        }
    return out


# --- set-up per server --------------------------------------------------------------------


def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body).encode() if body is not None else None, headers)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"null")
    conn.close()
    return response.status, payload


def log_in(port: int, usernames: list[str]) -> list[str]:
    tokens = []
    for name in usernames:
        status, body = call(port, "POST", "/auth/login", {"username": name, "password": PASSWORD})
        if status != 200:
            raise SystemExit(f"login of {name} failed: {status} {body}")
        tokens.append(body["access_token"])
    return tokens


def open_payments(port: int, shop: Shop, sim_state, count: int) -> list[bytes]:
    """Orders and OCTO payments through the API; the sandbox marks them paid and signs
    the `succeeded` callback that the mix will deliver."""
    from slippers.octo_sim.callbacks import build_payload
    from slippers.payments.octo_protocol import dumps_json

    rng = random.Random(11)
    bodies = []
    for n in range(count):
        token = shop.tokens[n % len(shop.tokens)]
        item = {"slipper_id": rng.choice(shop.catalog.popular), "quantity": 1}
        status, order = call(port, "POST", "/orders/", {"items": [item]}, token)
        if status != 201:
            continue  # sold out: the mix's own orders will keep trying that slipper
        status, created = call(
            port, "POST", "/payments/octo/create", {"orderId": order["id"]}, token
        )
        if status != 201:
            raise SystemExit(f"payment create failed: {status} {created}")
        payment = sim_state.get_payment(created["octo_payment_UUID"])
        sim_state.move_status(payment, {"created", "wait_user_action"}, "succeeded")
        bodies.append(dumps_json(build_payload(sim_state, payment, "succeeded")).encode())
    if not bodies:
        raise SystemExit("no payment could be opened")
    return bodies


# --- measuring ----------------------------------------------------------------------------


class RssSampler:
    """Every worker's VmRSS every `interval` seconds, in a background thread."""

    def __init__(self, master: int, interval: float) -> None:
        self.master, self.interval = master, interval
        self.samples: list[tuple[float, dict[int, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        began = time.monotonic()
        while True:
            pids = worker_pids(self.master)
            self.samples.append((time.monotonic() - began, {p: memory_kb(p) for p in pids}))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def measure(
    shop: Shop,
    args,
    master: int,
    kinds: list[str],
    weights: list[int],
    seconds: float,
    rate: float = 0.0,
    sample_every: float = 1.0,
) -> dict:
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    load_before = os.getloadavg()[0]
    servers_before = {pid: cpu_seconds(pid) for pid in server_pids(master, args)}
    with RssSampler(master, sample_every) as sampler:
        records, elapsed, failures = drive(shop, kinds, weights, seconds, args.connections, rate)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = sum(
        getattr(cpu_after, f) - getattr(cpu_before, f) for f in ("ru_utime", "ru_stime")
    )
    used = {"gunicorn": 0.0, "postgres": 0.0}
    for pid in server_pids(master, args):
        kind = "gunicorn" if pid in worker_pids(master) else "postgres"
        used[kind] += cpu_seconds(pid) - servers_before.get(pid, 0.0)
    result = summarize(records, elapsed)
    result.update(records=records, failures=failures, samples=sampler.samples)
    per_request = {k: v * 1000 / max(1, len(records)) for k, v in used.items()}
    result["cpu_ms"] = per_request
    result["machine"] = (
        f"CPU per request: gunicorn workers {per_request['gunicorn']:.2f} ms, PostgreSQL "
        f"{per_request['postgres']:.2f} ms; client used {client_cpu / elapsed:.0%} of a core; "
        f"1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        f"on {os.cpu_count()} CPUs"
    )
    result["peak_kb"] = {pid: memory_kb(pid, "VmHWM") for pid in worker_pids(master)}
    return result


def ceiling(args, workers: int, workdir: Path) -> dict:
    port = free_port()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    server = start_gunicorn(
        "bench.load:make_bare_app()", port, env, args, workers, workdir / f"bare-{workers}.log"
    )
    try:
        shop = Shop(port, Catalog([], [], {}, []), [], [])
        drive(shop, ["bare"], [1], 2.0, args.connections)
        return measure(shop, args, server.pid, ["bare"], [1], args.ceiling_seconds)
    finally:
        stop(server)


def error_lines(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if '"level": "ERROR"' in line or "Traceback" in line]


def print_run(title: str, run: dict, bare: dict | None) -> None:
    print(f"\n{title}")
    if bare:
        b = bare["kinds"]["bare"]
        print(
            f"  ceiling, bare Flask GET /: {bare['rps']:.0f} req/s, p50 {b['p50']:.1f} ms, "
            f"p99 {b['p99']:.1f} ms, worker CPU per request {bare['cpu_ms']['gunicorn']:.2f} ms, "
            f"peak RSS/worker "
            f"{', '.join(f'{kb / 1024:.0f} MB' for kb in bare['peak_kb'].values())}"
        )
    share = f" = {run['rps'] / bare['rps']:.0%} of the ceiling" if bare and bare["rps"] else ""
    print(f"  mix: {run['rps']:.0f} req/s{share}")
    print(
        f"  {'type':<9}{'count':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'app p50':>9}  statuses"
    )
    for kind, k in run["kinds"].items():
        print(
            f"  {kind:<9}{k['count']:>8}{k['rps']:>8.1f}{k['p50']:>9.1f}{k['p95']:>9.1f}"
            f"{k['p99']:>9.1f}{k['app50']:>9.1f}  {k['statuses']}"
        )
    unexpected = sum(k["unexpected"] for k in run["kinds"].values())
    fives = sum(k["5xx"] for k in run["kinds"].values())
    print(
        f"  errors: {unexpected} unexpected statuses, of them {fives} x 5xx; "
        f"connection failures: {dict(run['failures']) or 0} (409 on orders = sold out, expected)"
    )
    verdicts = [f"zero 5xx: {'met' if fives == 0 else 'MISSED'}"]
    for kind, (stat, goal) in GOALS.items():
        if kind not in run["kinds"]:
            continue
        value = run["kinds"][kind][stat]
        verdicts.append(
            f"{kind} {stat} {value:.1f} ms <= {goal:.0f}: {'met' if value <= goal else 'MISSED'}"
        )
    print("  goals: " + "; ".join(verdicts))
    peaks = ", ".join(f"{kb / 1024:.0f} MB" for kb in run["peak_kb"].values())
    print(f"  peak RSS per worker (VmHWM): {peaks}")
    print(f"  machine: {run['machine']}")


def print_soak(run: dict) -> None:
    start = min(r.began for r in run["records"])
    minutes: dict[int, list[Record]] = {}
    for record in run["records"]:
        minutes.setdefault(int((record.began - start) // 60), []).append(record)
    print(f"  {'minute':>6}{'req/s':>8}{'list p95':>10}{'order p95':>11}{'errors':>8}{'5xx':>6}")
    for minute, records in sorted(minutes.items()):
        lists = [r.ms for r in records if r.kind == "list"]
        orders = [r.ms for r in records if r.kind == "order"]
        errors = sum(1 for r in records if r.status not in EXPECTED[r.kind])
        print(
            f"  {minute + 1:>6}{len(records) / 60:>8.0f}{percentile(lists, 95):>10.1f}"
            f"{percentile(orders, 95):>11.1f}{errors:>8}"
            f"{sum(1 for r in records if r.status >= 500):>6}"
        )
    samples = [s for s in run["samples"] if s[1]]
    first, last = samples[0][1], samples[-1][1]
    print("  worker RSS, sampled every 10 s (first -> last, max):")
    for pid in first:
        series = [s[1].get(pid, 0) for s in samples if pid in s[1]]
        growth = last.get(pid, 0) - first[pid]
        print(
            f"    pid {pid}: {first[pid] / 1024:.1f} -> {last.get(pid, 0) / 1024:.1f} MB, "
            f"max {max(series) / 1024:.1f} MB, growth {growth / 1024:+.1f} MB over "
            f"{samples[-1][0] / 60:.1f} min"
        )


# --- main ---------------------------------------------------------------------------------


def bench_workers(args, workers: int, catalog: Catalog, sim, workdir: Path, tokens: list[str]):
    """Ceiling, then the mix at full speed, then paced at --paced-share of that speed."""
    bare = ceiling(args, workers, workdir)
    port = free_port()
    log = workdir / f"app-{workers}.log"
    env = app_env(args, f"{args.pg}/{args.db}", workdir, sim["url"], port)
    server = start_gunicorn("wsgi:app", port, env, args, workers, log)
    weights = [args.weights[k] for k in KINDS]
    title = (
        f"gunicorn {workers} workers x gthread {args.threads} threads, {args.rows} slippers, "
        f"Redis cache, rate limits off; client {args.connections} connections"
    )
    try:
        tokens[:] = tokens or log_in(port, catalog.usernames)
        shop = Shop(port, catalog, tokens, [])
        shop.callbacks = open_payments(port, shop, sim["state"], args.payments)
        drive(shop, KINDS, weights, args.warmup, args.connections)
        seconds = args.calibrate if args.soak else args.duration
        full = measure(shop, args, server.pid, KINDS, weights, seconds)
        print_run(f"{title}, closed loop (full speed), {seconds:.0f} s", full, bare)
        if args.paced_share > 0:
            target = args.paced_share * full["rps"]
            seconds = args.soak_minutes * 60 if args.soak else args.duration
            every = 10.0 if args.soak else 1.0
            paced = measure(shop, args, server.pid, KINDS, weights, seconds, target, every)
            print_run(
                f"{title}, paced at {target:.0f} req/s ({args.paced_share:.0%} of full speed), "
                f"{seconds:.0f} s",
                paced,
                None,
            )
            if args.soak:
                print_soak(paced)
    finally:
        stop(server)
    errors = error_lines(log)
    if errors:
        print(f"  {len(errors)} error lines in {log}; the first: {errors[0][:300]}")
    return bool(errors)


def main() -> int:
    args = parse_args()
    from slippers.octo_sim import make_sim_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the sandbox's access log
    args.cache_prefix = f"slippers-bench-load-{uuid.uuid4().hex[:8]}:"
    database_url = f"{args.pg}/{args.db}"
    workdir = Path(tempfile.mkdtemp(prefix="load-bench-"))
    sim_server, sim_app = make_sim_server(HOST, 0, None)
    threading.Thread(target=sim_server.serve_forever, daemon=True).start()
    sim = {
        "url": f"http://{HOST}:{sim_server.server_port}",
        "state": sim_app.extensions["octo_sim"],
    }
    started = time.monotonic()
    keep_workdir = False
    print(f"database {args.db}: creating, migrating, loading {args.rows} slippers ...")
    recreate_database(args.pg, args.db)
    try:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=app_env(args, database_url, workdir, sim["url"], 0),
            check=True,
            capture_output=True,
        )
        catalog = seed(database_url, args.rows, args.buyers)
        print(f"  seeded in {time.monotonic() - started:.0f} s; OCTO sandbox on {sim['url']}")
        tokens: list[str] = []
        for workers in args.worker_counts:
            keep_workdir |= bench_workers(args, workers, catalog, sim, workdir, tokens)
        consistent, summary = check_stock(database_url, catalog.initial)
        print(f"\nstock check: {'ok' if consistent else 'MISMATCH'}: {summary}")
    finally:
        sim_server.shutdown()
        sim_server.server_close()
        sim["state"].stop()
        if not args.keep_db:
            recreate_database(args.pg, args.db, create=False)
        forget_cache(args)
        if not keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"total run time {time.monotonic() - started:.0f} s")
    return 0 if consistent else 1


def forget_cache(args) -> None:
    """Delete this run's keys (its own prefix) from the benchmark's Redis database."""
    import redis

    client = redis.Redis.from_url(args.redis)
    keys = list(
        itertools.islice(client.scan_iter(match=f"{args.cache_prefix}*", count=1000), 1_000_000)
    )
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


if __name__ == "__main__":
    sys.exit(main())
