"""The app skeleton: settings, the one error shape, request id and timing headers."""

import pytest

from config import normalize_database_url
from slippers import create_app
from tests.conftest import assert_error_shape, base_settings


@pytest.mark.parametrize(
    "url,expected",
    [
        ("postgresql+asyncpg://u:p@h/db", "postgresql+psycopg2://u:p@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite+aiosqlite:///./x.db", "sqlite:///./x.db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_old_async_database_urls_are_mapped(url, expected):
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize("secret", ["", "change-me", "short"])
def test_production_refuses_weak_secret_key(tmp_root, database_url, secret):
    settings = base_settings(tmp_root, database_url) | {"TESTING": False, "SECRET_KEY": secret}
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(settings)


def test_debug_allows_default_secret(tmp_root, database_url):
    settings = base_settings(tmp_root, database_url) | {
        "TESTING": False,
        "DEBUG": True,
        "SECRET_KEY": "",
    }
    assert create_app(settings).config["SECRET_KEY"]


def test_unknown_path_is_404_in_error_shape(client):
    assert_error_shape(client.get("/no/such/thing"), 404)


def test_wrong_method_is_405_with_allow(client):
    response = client.put("/health")
    assert_error_shape(response, 405)
    assert "GET" in response.headers["Allow"]


def test_request_id_echoed_or_generated(client):
    echoed = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/health", headers={"X-Request-ID": "bad id <script>"})
    assert generated.headers["X-Request-ID"] != "bad id <script>"
    assert len(generated.headers["X-Request-ID"]) == 32
    error = client.get("/nowhere", headers={"X-Request-ID": "err-1"})
    assert error.headers["X-Request-ID"] == "err-1"


def test_server_timing_on_every_response(client):
    for response in (client.get("/health"), client.get("/nowhere")):
        name, duration = response.headers["Server-Timing"].split(";dur=")
        assert name == "app" and float(duration) >= 0


def test_crash_is_500_without_trace(tmp_root, database_url):
    app = create_app(base_settings(tmp_root, database_url))

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret database password in a stack trace")

    response = app.test_client().get("/boom")
    body = assert_error_shape(response, 500)
    assert "secret" not in response.get_data(as_text=True)
    assert body["message"] == "Internal server error"


def test_openapi_documents_security_and_errors(client):
    spec = client.get("/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["cookieAuth"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "access_token_cookie",
    }
    me = spec["paths"]["/auth/me"]["get"]
    assert {"bearerAuth": []} in me["security"]
    assert "401" in me["responses"]
    assert "403" in spec["paths"]["/users/"]["get"]["responses"]


@pytest.mark.parametrize(
    "path", ["/docs", "/redoc", "/static/vendor/swagger-ui/swagger-ui-bundle.js"]
)
def test_docs_are_served_offline(client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    response.close()
    assert "cdn" not in page.lower() or path.endswith(".js")
    if path in ("/docs", "/redoc"):
        assert "/static/vendor/" in page


def test_deeply_nested_json_is_400_not_500(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/auth/login", data=body, content_type="application/json")
    assert_error_shape(response, 400)
