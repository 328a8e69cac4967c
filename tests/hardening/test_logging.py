"""One JSON log line per request, the request id on every line, and no secret in any line."""

import logging

from slippers.http import current_request_id
from tests.conftest import TEST_PASSWORD, login_tokens

CARD = "4111 1111 1111 1111"  # a Luhn-valid test card number


def test_one_line_per_request_with_the_fields_operators_need(client, json_log, user_headers, user):
    client.get("/auth/me", headers={**user_headers, "X-Request-ID": "req-me-1"})
    client.get("/no/such/path", headers={"X-Request-ID": "req-404"})

    lines = {e["request_id"]: e for e in json_log.entries("slippers.request")}
    me = lines["req-me-1"]
    assert me["method"] == "GET"
    assert me["path"] == "/auth/me"
    assert me["status"] == 200
    assert me["user_id"] == user.id
    assert me["remote_ip"] == "127.0.0.1"
    assert isinstance(me["duration_ms"], float) and me["duration_ms"] >= 0
    assert isinstance(me["pid"], int)
    missing = lines["req-404"]
    assert missing["status"] == 404
    assert missing["user_id"] is None


def test_generated_request_id_is_logged_and_returned(client, json_log):
    response = client.get("/health")
    [line] = json_log.entries("slippers.request")
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_request_id_is_on_every_line_logged_during_the_request(make_app, json_log):
    app = make_app()
    seen = {}

    def view():
        seen["id"] = current_request_id()
        logging.getLogger("slippers.payments.octo").info("calling the gateway")
        return {"ok": True}

    app.add_url_rule("/_test/log", "test_log", view)
    app.test_client().get("/_test/log", headers={"X-Request-ID": "octo-trace-7"})

    assert seen["id"] == "octo-trace-7"
    [line] = json_log.entries("slippers.payments.octo")
    assert line["request_id"] == "octo-trace-7"
    assert current_request_id() == "-"  # outside a request


def test_login_leaves_no_password_or_token_in_the_log(client, json_log, user):
    tokens = login_tokens(client, user.username)
    client.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    client.post("/auth/login", json={"username": user.username, "password": "Wrong-Pass-99"})

    text = json_log.text()
    assert json_log.entries("slippers.request")
    for secret in (TEST_PASSWORD, "Wrong-Pass-99", tokens["access_token"], tokens["refresh_token"]):
        assert secret not in text


def test_secrets_in_extras_and_messages_are_redacted(json_log):
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    log = logging.getLogger("slippers.payments.octo")
    log.warning(
        "octo answered for card %s with Authorization: Bearer %s password=hunter22",
        CARD,
        jwt_like,
        extra={
            "request_body": {
                "octo_secret": "sim-secret",
                "password": "hunter22",
                "card_number": "4111111111111111",
                "cvv": "123",
                "headers": {"Authorization": "Bearer abc.def", "Cookie": "access_token_cookie=x"},
                "total_sum": "19.99",
                "phone_number": "+998901234567",
            },
            "signature": "deadbeef",
            "shop_transaction_id": "order-42",
        },
    )
    text = json_log.text()
    for secret in (
        "sim-secret",
        "hunter22",
        "4111111111111111",
        CARD,
        jwt_like,
        "abc.def",
        "deadbeef",
        "access_token_cookie=x",
        '"123"',
    ):
        assert secret not in text, secret
    [entry] = json_log.entries("slippers.payments.octo")
    body = entry["request_body"]
    assert body["total_sum"] == "19.99"  # ordinary values survive
    assert body["phone_number"] == "+998901234567"  # a phone number is not a card
    assert entry["shop_transaction_id"] == "order-42"
    assert "[CARD ****1111]" in entry["message"]


def test_exception_text_is_redacted(json_log):
    log = logging.getLogger("slippers.test")
    try:
        raise ValueError("gateway said: secret=topsecret-value")
    except ValueError:
        log.exception("gateway call failed")
    [entry] = json_log.entries("slippers.test")
    assert "topsecret-value" not in entry["exc"]
    assert "ValueError" in entry["exc"]
