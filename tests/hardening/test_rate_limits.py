"""One per-IP budget for the whole API, stricter budgets on auth and refunds, exemptions,
and the client IP taken from X-Forwarded-For only through TRUSTED_PROXIES hops."""

import pytest

from slippers.ratelimit import ROUTE_LIMITS, apply_route_limits
from tests.conftest import assert_error_shape, isolated_database


def _assert_refused(response, limit: int, window: int):
    body = assert_error_shape(response, 429)
    assert f"{limit} per" in body["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= window
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_budget_is_shared_by_every_path_then_429(limited_app):
    client = limited_app.test_client()
    answers = [client.get("/health"), client.get("/auth/me"), client.get("/no/such/path")]
    assert [r.status_code for r in answers] == [200, 401, 404]
    for response in answers:
        # By default only a refusal carries the rate-limit headers (no extra Redis trips).
        assert not {"X-RateLimit-Limit", "Retry-After"} & set(response.headers.keys())
    refused = client.get("/health")
    _assert_refused(refused, 3, 600)
    assert int(refused.headers["X-RateLimit-Reset"]) > 0
    _assert_refused(client.post("/auth/login", json={}), 3, 600)
    # every header the OpenAPI document promises on a 429 (spec routes are not limited)
    documented = client.get("/openapi.json").get_json()["components"]["responses"]
    assert set(documented["RATE_LIMITED"]["headers"]) <= set(refused.headers.keys())


def test_headers_on_every_answer_when_asked(make_app):
    app = make_app(
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_REQUESTS=3,
        RATE_LIMIT_WINDOW_SEC=600,
        RATE_LIMIT_HEADERS_ALWAYS=True,
    )
    client = app.test_client()
    answers = [client.get("/health") for _ in range(3)]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
    for response in answers:
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert "Retry-After" not in response.headers  # only a refusal says when to retry
    refused = client.get("/health")
    _assert_refused(refused, 3, 600)
    assert len(refused.headers.getlist("X-RateLimit-Limit")) == 1


# The webhook reads the database through this app's own rolled-back connection; the session
# app's per-test transaction (SQLite's write lock) must stay out of the way.
@pytest.mark.live_server_only
def test_excluded_paths_and_the_webhook_are_never_limited(limited_app):
    client = limited_app.test_client()
    for _ in range(3):
        client.get("/health")
    assert client.get("/health").status_code == 429
    for _ in range(5):
        for path in (
            "/docs",
            "/redoc",
            "/openapi.json",
            "/static/vendor/swagger-ui/swagger-ui.css",
        ):
            with client.get(path) as response:
                assert response.status_code == 200, path
        assert client.get("/favicon.ico").status_code == 404
        for path in ("/payments/octo/notify", "/payments/octo/notify/"):
            with isolated_database(limited_app):
                response = client.post(path, json={"octo_payment_UUID": "x", "status": "succeeded"})
            assert response.status_code != 429, path
            assert "X-RateLimit-Limit" not in response.headers


def test_limits_off_means_no_headers_and_no_429(client):
    for _ in range(10):
        response = client.get("/health")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers


def test_each_client_ip_has_its_own_budget(limited_app):
    client = limited_app.test_client()
    for _ in range(3):
        client.get("/health", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert client.get("/health", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429
    assert client.get("/health", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200


def test_x_forwarded_for_is_ignored_without_trusted_proxies(limited_app, json_log):
    assert limited_app.config["TRUSTED_PROXIES"] == 0
    client = limited_app.test_client()
    for n in range(4):
        response = client.get(
            "/health",
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
            environ_base={"REMOTE_ADDR": "10.0.0.9"},
        )
    assert response.status_code == 429  # a fresh XFF each time bought no fresh budget
    ips = {line["remote_ip"] for line in json_log.entries("slippers.request")}
    assert ips == {"10.0.0.9"}


def test_x_forwarded_for_is_honoured_for_one_trusted_hop(make_app, json_log):
    app = make_app(
        RATE_LIMIT_ENABLED=True, RATE_LIMIT_REQUESTS=3, RATE_LIMIT_WINDOW_SEC=600, TRUSTED_PROXIES=1
    )
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(3):
        client.get("/health", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base=proxy)
    assert (
        client.get(
            "/health", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base=proxy
        ).status_code
        == 429
    )
    # The proxy appends the real client last; a client-made leftmost entry changes nothing.
    spoofed = client.get(
        "/health", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}, environ_base=proxy
    )
    assert spoofed.status_code == 429
    other = client.get("/health", headers={"X-Forwarded-For": "203.0.113.8"}, environ_base=proxy)
    assert other.status_code == 200
    ips = [line["remote_ip"] for line in json_log.entries("slippers.request")]
    assert set(ips) == {"203.0.113.7", "203.0.113.8"}


@pytest.mark.live_server_only  # own rolled-back connection, as above
def test_auth_routes_share_a_stricter_budget(make_app):
    app = make_app(
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_REQUESTS=100,
        RATE_LIMIT_AUTH="2 per minute",
        LOGIN_RATE_LIMIT=100,
    )
    client = app.test_client()
    with isolated_database(app):
        first = client.post("/auth/login", json={"username": "nobody", "password": "x" * 12})
        second = client.post("/auth/forgot-password", json={"username": "nobody"})
        assert (first.status_code, second.status_code) == (401, 202)
        _assert_refused(client.post("/auth/register", json={}), 2, 60)
        _assert_refused(client.post("/auth/login", json={}), 2, 60)
        _assert_refused(client.post("/auth/reset-password/confirm", json={}), 2, 60)
    # Everything else still has the big budget.
    assert client.get("/health").status_code == 200
    assert client.post("/auth/refresh").status_code == 401


def test_refunds_have_their_own_stricter_budget(make_app):
    assert "/payments/octo/refund" in ROUTE_LIMITS["RATE_LIMIT_REFUND"]
    app = make_app(RATE_LIMIT_ENABLED=True, RATE_LIMIT_REQUESTS=100, RATE_LIMIT_REFUND="2 per hour")
    client = app.test_client()
    # The budget is checked before the view (and its admin check) runs.
    codes = [client.post("/payments/octo/refund", json={}).status_code for _ in range(2)]
    assert codes == [401, 401]
    _assert_refused(client.post("/payments/octo/refund", json={}), 2, 3600)
    assert client.get("/health").status_code == 200
    assert client.post("/auth/login", json={}).status_code == 422  # not the refund budget


def test_route_limits_are_not_applied_twice(make_app):
    app = make_app(RATE_LIMIT_ENABLED=True)
    assert apply_route_limits(app) == []


def test_login_throttle_answers_429_with_retry_after(app, client, user):
    for _ in range(app.config["LOGIN_RATE_LIMIT"]):
        response = client.post(
            "/auth/login", json={"username": user.username, "password": "nope-nope-1"}
        )
        assert_error_shape(response, 401)
    refused = client.post(
        "/auth/login", json={"username": user.username, "password": "nope-nope-1"}
    )
    assert_error_shape(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= app.config["LOGIN_RATE_WINDOW_SEC"]
    # Even the right password waits: the account is throttled.
    assert (
        client.post(
            "/auth/login", json={"username": user.username, "password": "Correct-Horse-42"}
        ).status_code
        == 429
    )
