"""Security headers on JSON, docs pages and errors; no-store for signed-in answers; HSTS."""

import re

from tests.conftest import assert_error_shape

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def _assert_base_headers(response):
    for name, value in BASE_HEADERS.items():
        assert response.headers[name] == value, name
    assert response.headers["X-Request-ID"]
    assert re.fullmatch(r"app;dur=\d+\.\d{2}", response.headers["Server-Timing"])


def _csp(response) -> dict[str, str]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


def test_json_answers_get_the_strict_policy(client):
    response = client.get("/health")
    assert response.status_code == 200
    _assert_base_headers(response)
    csp = _csp(response)
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert "Strict-Transport-Security" not in response.headers  # COOKIE_SECURE is off here


def test_errors_carry_the_same_headers(client):
    for response in (client.get("/no/such/path"), client.put("/health")):
        assert response.status_code in (404, 405)
        assert_error_shape(response, response.status_code)
        _assert_base_headers(response)
        assert _csp(response)["default-src"] == "'none'"


def test_docs_pages_get_a_policy_that_lets_them_run(client):
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        _assert_base_headers(response)
        csp = _csp(response)
        assert csp["default-src"] == "'self'"
        assert "'self'" in csp["script-src"]
        assert "blob:" in csp["worker-src"]  # ReDoc runs a blob: web worker
        assert csp["connect-src"] == "'self'"  # the spec is fetched from us only
        assert csp["frame-ancestors"] == "'none'"


def test_docs_pages_load_only_our_own_assets(client):
    """Both pages must work offline: every script and stylesheet comes from this app."""
    for path in ("/docs", "/redoc"):
        html = client.get(path).get_data(as_text=True)
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, path
        for asset in assets:
            assert asset.startswith("/"), (path, asset)
            with client.get(asset) as response:
                assert response.status_code == 200, asset


def test_swagger_ui_offers_bearer_and_cookie_auth_and_no_remote_validator(client):
    schemes = client.get("/openapi.json").get_json()["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["cookieAuth"]["in"] == "cookie"
    assert schemes["cookieAuth"]["name"] == "access_token_cookie"
    page = client.get("/docs").get_data(as_text=True)
    assert '"validatorUrl": null' in page  # no badge image from validator.swagger.io


def test_signed_in_answers_are_not_stored(client, user_headers):
    me = client.get("/auth/me", headers=user_headers)
    assert me.status_code == 200
    assert me.headers["Cache-Control"] == "no-store"
    anonymous = client.get("/health")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")


def test_hsts_when_cookies_are_secure(make_app):
    response = make_app(COOKIE_SECURE=True).test_client().get("/health")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
