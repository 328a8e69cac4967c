"""CORS: exact allowed origins with credentials; nobody else gets a CORS header."""

import re

import pytest

from tests.conftest import assert_error_shape

SHOP = "https://shop.example.uz"
REQUEST_HEADERS = "content-type, authorization, x-csrf-token, idempotency-key, x-request-id"


@pytest.fixture
def cors_app(make_app):
    # A budget of 2 so a preflight that counted against it would show at once.
    return make_app(
        ALLOWED_ORIGINS=[SHOP, "http://localhost:3000"],
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_REQUESTS=2,
        RATE_LIMIT_WINDOW_SEC=600,
    )


def _cors_headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def test_allowed_origin_is_echoed_with_credentials(cors_app):
    response = cors_app.test_client().get("/health", headers={"Origin": SHOP})
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    exposed = {
        h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert {"x-request-id", "retry-after", "etag"} <= exposed
    assert "origin" in response.headers["Vary"].lower()


def test_other_origins_get_no_cors_headers(cors_app):
    client = cors_app.test_client()
    for origin in ("https://evil.example", "https://shop.example.uz.evil.example", "null"):
        response = client.get("/health", headers={"Origin": origin})
        assert response.status_code in (200, 429)  # the budget is 2; refusals count too
        assert _cors_headers(response) == {}, origin
        preflight = client.options(
            "/auth/login",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert _cors_headers(preflight) == {}, origin


def test_preflight_allows_the_headers_clients_send(cors_app):
    response = cors_app.test_client().options(
        "/auth/login",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": REQUEST_HEADERS,
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {h.strip() for h in REQUEST_HEADERS.split(",")}
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_preflight_works_on_every_route_and_is_never_limited(cors_app):
    client = cors_app.test_client()
    rules = [r for r in cors_app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) > 10
    for rule in rules:
        path = re.sub(r"<int[^>]*>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        method = sorted(rule.methods - {"OPTIONS", "HEAD"})[0]
        response = client.options(
            path, headers={"Origin": SHOP, "Access-Control-Request-Method": method}
        )
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers["Access-Control-Allow-Origin"] == SHOP, path
    # The budget of 2 is still whole: preflights did not use it.
    assert [client.get("/health").status_code for _ in range(3)] == [200, 200, 429]


def test_a_refused_request_still_carries_cors_headers(cors_app):
    """A browser can only read a 429 (and its Retry-After) if CORS headers are on it."""
    client = cors_app.test_client()
    for _ in range(2):
        client.get("/health", headers={"Origin": SHOP})
    refused = client.get("/health", headers={"Origin": SHOP})
    assert_error_shape(refused, 429)
    assert refused.headers["Access-Control-Allow-Origin"] == SHOP


def test_no_cors_when_no_origins_are_configured(client):
    response = client.get("/health", headers={"Origin": SHOP})
    assert _cors_headers(response) == {}


@pytest.mark.parametrize("origin", ["*", "https://*.example.uz", "https://shop.example.uz/app"])
def test_anything_but_an_exact_origin_refuses_to_start(make_app, origin):
    with pytest.raises(RuntimeError, match="ALLOWED_ORIGINS"):
        make_app(ALLOWED_ORIGINS=[origin])
