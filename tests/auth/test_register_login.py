"""Registration and login, including hostile input."""

import pytest

from tests.conftest import TEST_PASSWORD, assert_error_shape, bearer, login_tokens


def register(client, **fields):
    body = {"username": "newbie", "password": "Good-Pass-9x"} | fields
    return client.post("/auth/register", json=body)


def test_register_returns_user_without_secrets(client):
    response = register(client, email="New@Example.com", phone_number="+998901234567")
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "newbie"
    assert body["email"] == "new@example.com"
    assert body["is_admin"] is False and body["is_active"] is True
    assert set(body) == {
        "id", "username", "email", "phone_number", "name", "surname",
        "is_admin", "is_active", "created_at",
    }  # fmt: skip
    assert "hash" not in response.get_data(as_text=True).lower()
    assert body["created_at"].endswith("+00:00")


def test_register_trailing_slash_and_no_redirect(client):
    response = client.post(
        "/auth/register/", json={"username": "slashy", "password": "Good-Pass-9x"}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "field,value",
    [("username", "NEWBIE"), ("email", "dup@example.com"), ("phone_number", "+998900000001")],
)
def test_duplicates_are_409(client, field, value):
    first = {"username": "newbie", "email": "dup@example.com", "phone_number": "+998900000001"}
    assert register(client, **first).status_code == 201
    second = {"username": "another", field: value}
    body = assert_error_shape(register(client, **second), 409)
    assert field in body["errors"]


def test_client_cannot_make_itself_admin(client):
    body = assert_error_shape(register(client, is_admin=True), 422)
    assert "is_admin" in body["errors"]


@pytest.mark.parametrize(
    "password", ["short1!", "password123", "aaaaaaaaaaaa", "x" * 129, "12345678"]
)
def test_weak_passwords_are_422(client, password):
    body = assert_error_shape(register(client, password=password), 422)
    assert "password" in body["errors"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "password": "Good-Pass-9x"},
        {"username": "has space", "password": "Good-Pass-9x"},
        {"username": "юзер", "password": "Good-Pass-9x"},
        {"username": 123, "password": "Good-Pass-9x"},
        {"username": "x" * 10_000_00, "password": "Good-Pass-9x"},
        {"username": "valid_name", "password": ["list"]},
        {"username": "valid_name", "password": "Good-Pass-9x", "phone_number": "998901234567"},
        {"username": "valid_name", "password": "Good-Pass-9x", "email": "not-an-email"},
        {"username": "valid_name"},
        {},
        [],
        "string",
    ],
)
def test_hostile_register_bodies_are_4xx(client, body):
    response = client.post("/auth/register", json=body)
    assert 400 <= response.status_code < 500
    assert_error_shape(response, response.status_code)


def test_invalid_json_and_wrong_content_type(client):
    bad = client.post("/auth/login", data="{not json", content_type="application/json")
    assert_error_shape(bad, 400)
    form = client.post("/auth/login", data={"username": "a", "password": "b"})
    assert 400 <= form.status_code < 500
    assert_error_shape(form, form.status_code)


def test_ten_megabyte_body_is_413(client):
    huge = {"username": "a" * (10 * 1024 * 1024), "password": "x"}
    assert_error_shape(client.post("/auth/login", json=huge), 413)


def test_unicode_names_are_kept(client):
    response = register(client, name="Ойбек", surname="Ҳасанов 🥿")
    assert response.status_code == 201
    assert response.get_json()["surname"] == "Ҳасанов 🥿"


@pytest.mark.parametrize("identifier", ["Shopper", "shop@example.com", "+998907654321"])
def test_login_by_username_email_or_phone(client, make_user, identifier):
    make_user("shopper", email="shop@example.com", phone_number="+998907654321")
    tokens = login_tokens(client, identifier)
    assert tokens["token_type"] == "bearer"
    assert tokens["user"]["username"] == "shopper"
    me = client.get("/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.get_json()["username"] == "shopper"


def test_login_sets_httponly_lax_cookies(client, user):
    response = client.post("/auth/login", json={"username": "shopper", "password": TEST_PASSWORD})
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("access_token_cookie", "refresh_token_cookie"):
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]
    for name in ("csrf_access_token", "csrf_refresh_token"):
        assert "HttpOnly" not in cookies[name]


def test_unknown_user_and_wrong_password_look_the_same(client, user):
    wrong = client.post("/auth/login", json={"username": "shopper", "password": "Nope-nope-1"})
    unknown = client.post("/auth/login", json={"username": "ghost", "password": "Nope-nope-1"})
    assert assert_error_shape(wrong, 401) == assert_error_shape(unknown, 401)


def test_inactive_user_cannot_log_in(client, make_user):
    make_user("sleeper", is_active=False)
    response = client.post("/auth/login", json={"username": "sleeper", "password": TEST_PASSWORD})
    assert_error_shape(response, 401)


def test_login_is_throttled_per_account(client, user, app):
    limit = app.config["LOGIN_RATE_LIMIT"]
    for _ in range(limit):
        bad = client.post("/auth/login", json={"username": "shopper", "password": "Wrong-pass-1"})
        assert bad.status_code == 401
    blocked = client.post("/auth/login", json={"username": "shopper", "password": TEST_PASSWORD})
    assert_error_shape(blocked, 429)
    assert int(blocked.headers["Retry-After"]) > 0
