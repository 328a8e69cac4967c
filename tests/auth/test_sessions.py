"""Tokens: cookies with CSRF, refresh rotation and theft detection, logout, revocation."""

from tests.conftest import TEST_PASSWORD, assert_error_shape, bearer, login_tokens


def cookie_login(client, username="shopper", password=TEST_PASSWORD):
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200
    return response


def csrf(client, name="csrf_access_token"):
    return {"X-CSRF-TOKEN": client.get_cookie(name).value}


def test_cookie_auth_reads_without_csrf(client, user):
    cookie_login(client)
    assert client.get("/auth/me").status_code == 200


def test_cookie_unsafe_request_needs_csrf_header(client, user):
    cookie_login(client)
    assert_error_shape(client.post("/auth/logout"), 401)
    wrong = client.post("/auth/logout", headers={"X-CSRF-TOKEN": "forged"})
    assert_error_shape(wrong, 401)
    assert client.post("/auth/logout", headers=csrf(client)).status_code == 200


def test_bearer_needs_no_csrf(client, user):
    tokens = login_tokens(client, "shopper")
    client.delete_cookie("access_token_cookie")
    assert client.post("/auth/logout", headers=bearer(tokens["access_token"])).status_code == 200


def test_refresh_rotates_and_reuse_revokes_the_family(client, user):
    first = login_tokens(client, "shopper")
    rotated = client.post("/auth/refresh", headers=bearer(first["refresh_token"]))
    assert rotated.status_code == 200
    second = rotated.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/auth/me", headers=bearer(second["access_token"])).status_code == 200

    theft = client.post("/auth/refresh", headers=bearer(first["refresh_token"]))
    assert_error_shape(theft, 401)
    # the whole login is gone: the newest tokens are refused too
    assert_error_shape(client.get("/auth/me", headers=bearer(second["access_token"])), 401)
    again = client.post("/auth/refresh", headers=bearer(second["refresh_token"]))
    assert_error_shape(again, 401)


def test_refresh_with_cookie_needs_refresh_csrf(client, user):
    cookie_login(client)
    assert_error_shape(client.post("/auth/refresh"), 401)
    ok = client.post("/auth/refresh", headers=csrf(client, "csrf_refresh_token"))
    assert ok.status_code == 200
    assert any("access_token_cookie=" in c for c in ok.headers.getlist("Set-Cookie"))


def test_access_token_is_not_a_refresh_token(client, user):
    tokens = login_tokens(client, "shopper")
    assert_error_shape(client.post("/auth/refresh", headers=bearer(tokens["access_token"])), 401)
    assert_error_shape(client.get("/auth/me", headers=bearer(tokens["refresh_token"])), 401)


def test_logout_revokes_access_and_refresh(client, user):
    tokens = login_tokens(client, "shopper")
    response = client.post("/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    cleared = " ".join(response.headers.getlist("Set-Cookie"))
    assert "access_token_cookie=;" in cleared
    assert_error_shape(client.get("/auth/me", headers=bearer(tokens["access_token"])), 401)
    refresh = client.post("/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert_error_shape(refresh, 401)


def test_other_sessions_survive_a_logout(client, user):
    phone = login_tokens(client, "shopper")
    laptop = login_tokens(client, "shopper")
    client.post("/auth/logout", headers=bearer(laptop["access_token"]))
    assert client.get("/auth/me", headers=bearer(phone["access_token"])).status_code == 200


def test_tampered_and_garbage_tokens_are_401(client, user):
    token = login_tokens(client, "shopper")["access_token"]
    head, payload, sig = token.split(".")
    tampered = f"{head}.{payload}.{sig[:-3]}abc"
    client.delete_cookie("access_token_cookie")
    for bad in (tampered, "garbage", "a.b.c", ""):
        assert_error_shape(client.get("/auth/me", headers=bearer(bad)), 401)
    assert_error_shape(client.get("/auth/me", headers={"Authorization": "Basic abc"}), 401)


def test_token_signed_with_another_key_is_401(client, user, app):
    import jwt

    forged = jwt.encode(
        {"sub": str(user.id), "type": "access", "jti": "x", "sid": "x", "fresh": False},
        "attacker-key-that-is-long-enough-for-hs256",
        algorithm="HS256",
    )
    assert_error_shape(client.get("/auth/me", headers=bearer(forged)), 401)


def test_expired_access_token_is_401(client, user, app):
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    tokens = login_tokens(client, "shopper")
    from flask_jwt_extended import decode_token

    sid = decode_token(tokens["access_token"])["sid"]
    expired = create_access_token(
        identity=str(user.id), additional_claims={"sid": sid}, expires_delta=timedelta(seconds=-5)
    )
    body = assert_error_shape(client.get("/auth/me", headers=bearer(expired)), 401)
    assert "expired" in body["message"].lower()


def test_me_requires_authentication(client):
    assert_error_shape(client.get("/auth/me"), 401)
