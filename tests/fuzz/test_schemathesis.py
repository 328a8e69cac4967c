"""Schemathesis over every operation of /openapi.json: the spec and the code must agree.

Every operation is fuzzed with valid (positive) and invalid (negative) data, as a signed-in
user and as an admin, with all of schemathesis's checks (no 5xx, documented status codes,
content types, response schemas and headers, valid data accepted, invalid data refused,
auth really enforced, 405 for undocumented methods) plus ours: every status is listed on its
operation (not only through `default`), every error has the one error shape, every answer
carries X-Request-ID and Server-Timing.

Where it runs, and why: in-process, on the WSGI app of the test session, inside the usual
rolled-back transaction of the test, and each generated request in a SAVEPOINT of its own
that is rolled back afterwards (the OCTO sandbox's record of the payment is put back too).
No server process and no sockets: thousands of requests stay fast on 2 cores, a failure
shrinks and replays deterministically, nothing outlives the test, and the same code serves
SQLite and PostgreSQL (multi-worker behaviour has its own live-server tests). Every request
meets the same world (tests/fuzz/world.py): a DELETE of the slipper does not make the next
request a 404, a refund does not use up the payment. Drawn requests are aimed at the world's
rows two times out of three, schema-derived ones always (tests/fuzz/realistic.py), so they
reach the rules and not only 404s; shrinking prefers the world's rows.

Run length: a fixed seed and SCHEMATHESIS_MAX_EXAMPLES examples per operation and caller in
the fuzzing phase (default 30: about 45 s on SQLite and 60 s on PostgreSQL for this file on
2 cores), plus the schema-derived coverage cases (about 100 per operation). A longer hunt,
same seed (500: about 7 minutes on SQLite):

    SCHEMATHESIS_MAX_EXAMPLES=500 .venv/bin/pytest tests/fuzz/test_schemathesis.py

and SCHEMATHESIS_SEED=<n> for other draws.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from slippers import create_app
from slippers.extensions import cache, db
from tests.conftest import base_settings
from tests.fuzz.realistic import realistic
from tests.fuzz.world import build_world, octo_snapshot

SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20260601"))
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30"))

# Schema-valid requests that a domain rule may still refuse; each status is documented on
# its operation. Positive data may get these besides the statuses that never mean "your data
# was wrong" (401, 403, 404, 409, 429).
DOMAIN_REFUSALS = {
    "POST /auth/register": ["422"],  # a common password
    "POST /auth/reset-password": ["422"],  # a common new password
    "POST /auth/reset-password/confirm": ["400", "422"],  # a wrong code; a common password
    "GET /slippers/": ["422"],  # min_price above max_price
    "POST /slippers/": ["422"],  # an unknown category
    "PUT /slippers/{slipper_id}": ["422"],  # an unknown category
    "PATCH /slippers/{slipper_id}": ["422"],  # an unknown category
    "POST /slippers/{slipper_id}/upload-images": ["422"],  # not a real JPEG/PNG/WebP image
    "POST /cart/items": ["422"],  # an unknown or removed slipper; more than the line limit
    "POST /orders/": ["422"],  # an unknown or removed slipper
    "POST /payments/octo/create": ["422"],  # amount is not the order total
    "POST /payments/octo/refund": ["422"],  # OCTO's per-refund minimum and maximum
}
POSITIVE_EXPECTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]
# Invalid data may also meet the size limits before validation.
NEGATIVE_EXPECTED = ["400", "401", "403", "404", "405", "409", "413", "414", "415", "422", "429"]
# Answers any route may give whatever its own rules (method not allowed, body or query
# string too large, rate limited), described once by the `default` response and its one
# error shape, so a route need not list them. 400 only for a body that is not JSON at all:
# a route's own 400s must be listed.
APP_WIDE = {405, 413, 414, 429}
MALFORMED_JSON = "Invalid JSON body"


def _spec() -> dict:
    """The spec, from an app of its own: parametrisation happens before the session's app."""
    with tempfile.TemporaryDirectory(prefix="slippers-spec-") as root:
        spec_app = create_app(base_settings(Path(root), f"sqlite:///{root}/spec.db"))
        return spec_app.test_client().get("/openapi.json").get_json()


SPEC = _spec()


def _config() -> SchemathesisConfig:
    operations = [
        {
            "include-name": label,
            "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_EXPECTED + more}},
        }
        for label, more in DOMAIN_REFUSALS.items()
    ]
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "base-url": "http://localhost",
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "checks": {
                "positive_data_acceptance": {"expected-statuses": POSITIVE_EXPECTED},
                "negative_data_rejection": {"expected-statuses": NEGATIVE_EXPECTED},
            },
            "operations": operations,
        }
    )


class AppUnderTest:
    """A WSGI app forwarding to the session's app (set by the `fuzz_world` fixture), so
    requests and schemathesis's own probes (e.g. without the token) reach it in-process."""

    app = None

    def __call__(self, environ, start_response):
        # Read the whole answer and close it: schemathesis never closes a streamed one
        # (a served image file would be left open).
        answer = self.app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()


APP = AppUnderTest()
schema = schemathesis.openapi.from_dict(SPEC, config=_config())
schema.app = APP
_ACTIVE: dict = {}


@schema.hook
def flatmap_case(context, case):
    """Two times out of three, aim the request at the world's rows (pending or paid order)."""
    active = _ACTIVE.get("world")
    if active is None:
        return st.just(case)
    world, actor = active
    return st.integers(0, 2).map(
        lambda choice: case if choice == 2 else realistic(case, world, actor, choice)
    )


@schema.hook
def filter_query(context, query):
    """No arrays inside arrays or objects as query values: a query string cannot carry them,
    and the in-process client would send their Python repr as one (valid) string."""
    values = [] if not isinstance(query, dict) else list(query.values())
    nested = [v for v in values if isinstance(v, dict)]
    nested += [i for v in values if isinstance(v, list) for i in v if isinstance(i, (list, dict))]
    return not nested


def documented_explicitly(ctx, response, case):
    """Every status a route answers is listed on the operation, not only through `default`."""
    operation = SPEC["paths"][case.operation.path].get(case.method.lower())
    if operation is None:  # an undocumented method: the unsupported_method check judges it
        return None
    if response.status_code in APP_WIDE:
        return None
    if response.status_code == 400 and json.loads(response.content)["message"] == MALFORMED_JSON:
        return None
    documented = operation["responses"]
    assert str(response.status_code) in documented, (
        f"{case.method} {case.operation.path} answered {response.status_code}; "
        f"documented: {sorted(documented)}"
    )
    return None


def one_error_shape(ctx, response, case):
    """{code, status, message, errors?} with code equal to the HTTP status, nothing else."""
    if response.status_code < 400:
        return None
    body = json.loads(response.content)
    assert set(body) <= {"code", "status", "message", "errors"}, body
    assert body["code"] == response.status_code, body
    assert isinstance(body["status"], str) and body["status"], body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body.get("errors", {}), dict), body
    return None


def request_id_and_timing(ctx, response, case):
    assert response.headers.get("x-request-id"), "no X-Request-ID"
    timing = response.headers.get("server-timing") or [""]
    assert timing[0].startswith("app;dur="), timing
    return None


CHECKS = [documented_explicitly, one_error_shape, request_id_and_timing]


@pytest.fixture(params=["user", "admin"])
def role(request) -> str:
    return request.param


@pytest.fixture
def fuzz_world(app, client, octo, role):
    """The world of the run, owned by `role` (so an admin run reaches owner-only rules too)."""
    built = build_world(client, octo, owner=role)
    APP.app = app
    _ACTIVE["world"] = (built, built.account(role))
    yield built
    _ACTIVE.clear()
    APP.app = None


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api(case, fuzz_world, role, app, octo):
    account = fuzz_world.account(role)
    if case.meta is not None and case.meta.phase.name != "fuzzing":
        # Schema-derived cases (boundaries, missing fields, other methods) are not drawn by
        # Hypothesis, so the hook above never sees them: aim them all at the world's rows.
        realistic(case, fuzz_world, account)
    token = account.refresh_headers if case.operation.path == "/auth/refresh" else account.headers
    # The in-process client cannot undo gzip/br: ask for plain bodies.
    headers = {**token, "Accept-Encoding": "identity"}
    db.session.remove()  # no savepoint of the session may enclose the example's own
    savepoint = db.engine.begin_nested()  # db.engine is the test's connection here
    gateway = octo_snapshot(octo, fuzz_world)
    try:
        case.call_and_validate(headers=headers, additional_checks=CHECKS)
    finally:
        db.session.remove()
        savepoint.rollback()
        gateway.restore()
        cache.clear()
        app.extensions["login_throttle"].reset()
