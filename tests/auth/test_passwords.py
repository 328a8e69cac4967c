"""Password change and forgot/confirm reset."""

import pytest

from slippers.auth.models import PasswordResetCode
from slippers.extensions import db
from tests.conftest import TEST_PASSWORD, assert_error_shape, bearer, login_tokens

NEW_PASSWORD = "Brand-New-Pass-7"


@pytest.fixture
def sent_codes(app, monkeypatch):
    """Capture codes handed to the notifier (the edge where SMS/e-mail would go)."""
    codes = []
    monkeypatch.setitem(
        app.extensions, "password_reset_notifier", lambda user, code: codes.append((user.id, code))
    )
    return codes


def change(client, token, current=TEST_PASSWORD, new=NEW_PASSWORD):
    return client.post(
        "/auth/reset-password",
        json={"current_password": current, "new_password": new},
        headers=bearer(token),
    )


def test_change_password_keeps_caller_and_revokes_others(client, user):
    mine = login_tokens(client, "shopper")
    other = login_tokens(client, "shopper")
    response = change(client, mine["access_token"])
    assert response.status_code == 200
    fresh = response.get_json()
    assert client.get("/auth/me", headers=bearer(fresh["access_token"])).status_code == 200
    assert_error_shape(client.get("/auth/me", headers=bearer(other["access_token"])), 401)
    assert_error_shape(client.post("/auth/refresh", headers=bearer(other["refresh_token"])), 401)
    assert login_tokens(client, "shopper", NEW_PASSWORD)["user"]["username"] == "shopper"
    old = client.post("/auth/login", json={"username": "shopper", "password": TEST_PASSWORD})
    assert_error_shape(old, 401)


def test_change_password_wrong_current_is_403(client, user):
    token = login_tokens(client, "shopper")["access_token"]
    assert_error_shape(change(client, token, current="Not-My-Pass-1"), 403)


def test_change_password_policy_applies(client, user):
    token = login_tokens(client, "shopper")["access_token"]
    body = assert_error_shape(change(client, token, new="password123"), 422)
    assert "new_password" in body["errors"]


def test_forgot_is_202_for_anyone(client, user, sent_codes):
    for name in ("shopper", "nobody-here"):
        response = client.post("/auth/forgot-password", json={"username": name})
        assert response.status_code == 202
    assert [uid for uid, _ in sent_codes] == [user.id]


def test_reset_code_works_once_and_revokes_sessions(client, user, sent_codes):
    session = login_tokens(client, "shopper")
    client.post("/auth/forgot-password", json={"username": "shopper"})
    code = sent_codes[-1][1]
    body = {"username": "shopper", "code": code, "new_password": NEW_PASSWORD}
    assert client.post("/auth/reset-password/confirm", json=body).status_code == 200
    assert_error_shape(client.get("/auth/me", headers=bearer(session["access_token"])), 401)
    login_tokens(client, "shopper", NEW_PASSWORD)
    again = dict(body, new_password="Another-Pass-8")
    assert_error_shape(client.post("/auth/reset-password/confirm", json=again), 400)


def test_reset_code_expires(client, user, sent_codes):
    from datetime import timedelta

    from slippers.db_types import utcnow

    client.post("/auth/forgot-password", json={"username": "shopper"})
    record = db.session.query(PasswordResetCode).one()
    record.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    body = {"username": "shopper", "code": sent_codes[-1][1], "new_password": NEW_PASSWORD}
    assert_error_shape(client.post("/auth/reset-password/confirm", json=body), 400)


def test_wrong_codes_burn_the_code(client, user, sent_codes):
    client.post("/auth/forgot-password", json={"username": "shopper"})
    good = sent_codes[-1][1]
    for _ in range(5):
        body = {"username": "shopper", "code": "wrong-code", "new_password": NEW_PASSWORD}
        assert_error_shape(client.post("/auth/reset-password/confirm", json=body), 400)
    body = {"username": "shopper", "code": good, "new_password": NEW_PASSWORD}
    assert_error_shape(client.post("/auth/reset-password/confirm", json=body), 400)


def test_new_code_replaces_old(client, user, sent_codes):
    client.post("/auth/forgot-password", json={"username": "shopper"})
    client.post("/auth/forgot-password", json={"username": "shopper"})
    first, second = sent_codes[0][1], sent_codes[1][1]
    body = {"username": "shopper", "code": first, "new_password": NEW_PASSWORD}
    assert_error_shape(client.post("/auth/reset-password/confirm", json=body), 400)
    body["code"] = second
    assert client.post("/auth/reset-password/confirm", json=body).status_code == 200


def test_unknown_user_confirm_is_400(client):
    body = {"username": "ghost", "code": "abc", "new_password": NEW_PASSWORD}
    assert_error_shape(client.post("/auth/reset-password/confirm", json=body), 400)
