"""OCTO's callback: forged ones change nothing, real ones apply once and never backwards."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from slippers.payments.octo_protocol import compute_signature
from tests.conftest import assert_error_shape
from tests.payments.helpers import (
    UNIQUE_KEY,
    create_payment,
    events,
    history,
    notify,
    order_row,
    payment_row,
    place_order,
    signed_callback,
    snapshot,
)


@pytest.fixture
def pending(client, octo, user_headers, slipper):
    """(order, created payment body) with the payment open at OCTO."""
    order = place_order(client, user_headers, [(slipper, 2)])
    return order, create_payment(client, user_headers, order["id"])


@pytest.fixture
def second(client, octo, user_headers, make_slipper):
    order = place_order(client, user_headers, [(make_slipper(price="5.00"), 1)])
    return order, create_payment(client, user_headers, order["id"])


def forged(octo, pending, second, kind: str) -> dict:
    _order, created = pending
    uuid = created["octo_payment_UUID"]
    payload = signed_callback(octo, uuid, "succeeded")
    if kind == "no signature":
        del payload["signature"]
    elif kind == "empty signature":
        payload["signature"] = ""
    elif kind == "wrong key":
        payload["signature"] = compute_signature("not-the-key", uuid, "succeeded")
    elif kind == "signature of another status":
        payload["signature"] = compute_signature(UNIQUE_KEY, uuid, "created")
    elif kind == "another payment's signature":
        other_uuid = second[1]["octo_payment_UUID"]
        payload["signature"] = compute_signature(UNIQUE_KEY, other_uuid, "succeeded")
    elif kind == "signature is a number":
        payload["signature"] = 12345
    return payload


@pytest.mark.parametrize(
    "kind",
    [
        "no signature",
        "empty signature",
        "wrong key",
        "signature of another status",
        "another payment's signature",
        "signature is a number",
    ],
)
def test_forged_callbacks_are_401_and_change_nothing(client, octo, pending, second, kind):
    order, created = pending
    before = snapshot(created["payment_id"], order["id"])
    response = notify(client, forged(octo, pending, second, kind))
    assert_error_shape(response, 401)
    assert snapshot(created["payment_id"], order["id"]) == before
    event = events(created["payment_id"])[-1]
    assert (event.source, event.outcome, event.signature_valid) == (
        "callback",
        "bad_signature",
        False,
    )
    assert event.payload["status"] == "succeeded"


def test_unknown_payment_is_404_even_when_signed(client, octo, pending):
    order, created = pending
    before = snapshot(created["payment_id"], order["id"])
    uuid = "5a6b1c9e-0000-4000-8000-000000000000"
    payload = {
        "octo_payment_UUID": uuid,
        "status": "succeeded",
        "signature": compute_signature(UNIQUE_KEY, uuid, "succeeded"),
    }
    assert_error_shape(notify(client, payload), 404)
    assert snapshot(created["payment_id"], order["id"]) == before
    (event,) = events(None)[-1:]
    assert (event.payment_id, event.outcome, event.signature_valid) == (
        None,
        "unknown_payment",
        True,
    )


def test_shop_transaction_id_of_another_payment_is_404(client, octo, pending, second):
    order, created = pending
    before = snapshot(created["payment_id"], order["id"])
    payload = signed_callback(octo, created["octo_payment_UUID"], "succeeded")
    payload["shop_transaction_id"] = payment_row(second[1]["payment_id"]).shop_transaction_id
    assert_error_shape(notify(client, payload), 404)
    assert snapshot(created["payment_id"], order["id"]) == before
    assert events(created["payment_id"])[-1].outcome == "unknown_payment"


def test_lower_case_hex_signature_is_accepted(client, octo, pending):
    order, created = pending
    payload = signed_callback(octo, created["octo_payment_UUID"], "succeeded")
    payload["signature"] = payload["signature"].lower()
    response = notify(client, payload)
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert payment_row(created["payment_id"]).status == "PAID"
    assert order_row(order["id"]).status == "confirmed"


def test_without_a_key_every_callback_is_refused(app, client, octo, pending, monkeypatch):
    order, created = pending
    monkeypatch.setitem(app.config, "OCTO_UNIQUE_KEY", "")
    before = snapshot(created["payment_id"], order["id"])
    payload = signed_callback(octo, created["octo_payment_UUID"], "succeeded")
    assert_error_shape(notify(client, payload), 403)
    assert snapshot(created["payment_id"], order["id"]) == before
    assert events(created["payment_id"])[-1].outcome == "refused_no_key"


def test_the_development_switch_accepts_unsigned_callbacks(app, client, octo, pending, monkeypatch):
    _order, created = pending
    monkeypatch.setitem(app.config, "OCTO_UNIQUE_KEY", "")
    monkeypatch.setitem(app.config, "OCTO_ALLOW_UNSIGNED_CALLBACKS", True)
    payload = {"octo_payment_UUID": created["octo_payment_UUID"], "status": "succeeded"}
    assert notify(client, payload).status_code == 200
    assert payment_row(created["payment_id"]).status == "PAID"
    assert events(created["payment_id"])[-1].signature_valid is None


def test_the_development_switch_still_checks_a_configured_key(
    app, client, octo, pending, monkeypatch
):
    _order, created = pending
    monkeypatch.setitem(app.config, "OCTO_ALLOW_UNSIGNED_CALLBACKS", True)
    payload = {"octo_payment_UUID": created["octo_payment_UUID"], "status": "succeeded"}
    assert_error_shape(notify(client, payload), 401)
    assert payment_row(created["payment_id"]).status == "CREATED"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'"text"', b"null", b"", b'{"total_sum": NaN}', b"[" * 5000],
)
def test_a_body_that_is_not_a_json_object_is_400_and_kept(client, octo, body):
    response = client.post(
        "/payments/octo/notify", data=body, headers={"Content-Type": "application/json"}
    )
    assert_error_shape(response, 400)
    event = events(None)[-1]
    assert event.outcome == "bad_request" and event.payment_id is None
    assert event.payload == {"_raw": body.decode()[:16384]}


def nested(depth: int):
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_hostile_values_get_a_4xx_never_a_500(client, octo, pending):
    order, created = pending
    before = snapshot(created["payment_id"], order["id"])
    hostile = [
        {"octo_payment_UUID": "a\u0000b", "status": "succeeded\u0000", "sig\u0000": "x"},
        {"octo_payment_UUID": ["list"], "status": {"a": 1}, "signature": None},
        {"octo_payment_UUID": "x" * 5000, "status": "s" * 5000, "signature": "0" * 40},
        {"octo_payment_UUID": created["octo_payment_UUID"], "status": "succeeded"},
        {"nested": {"deeper": nested(40)}},
        {"octo_payment_UUID": "ÿ\U0001f600", "status": "succeeded", "total_sum": 1e400},
        {"octo_payment_UUID": "\ud800", "status": "\udfff", "\ud83d": ["\ud800"]},
    ]
    for payload in hostile:
        response = client.post("/payments/octo/notify", data=json.dumps(payload))
        assert response.status_code in (400, 401), response.get_data(as_text=True)
    assert snapshot(created["payment_id"], order["id"]) == before
    assert len(events()) == 1 + len(hostile)  # the create answer, then every refused callback


def test_repeats_apply_once(client, octo, pending):
    order, created = pending
    payload = signed_callback(octo, created["octo_payment_UUID"], "succeeded")
    answers = [notify(client, payload) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    paid_at = payment_row(created["payment_id"]).paid_at
    assert [h[:2] for h in history(order["id"])] == [(None, "pending"), ("pending", "confirmed")]
    outcomes = [e.outcome for e in events(created["payment_id"])]
    assert outcomes == ["attached", "applied", "duplicate", "duplicate"]
    assert payment_row(created["payment_id"]).paid_at == paid_at


@pytest.mark.parametrize("late", ["created", "wait_user_action", "waiting_for_capture", "failed"])
def test_a_late_callback_after_success_changes_nothing(client, octo, pending, late):
    order, created = pending
    uuid = created["octo_payment_UUID"]
    assert notify(client, signed_callback(octo, uuid, "succeeded")).status_code == 200
    before = snapshot(created["payment_id"], order["id"])
    response = notify(client, signed_callback(octo, uuid, late))
    assert response.status_code == 200
    assert snapshot(created["payment_id"], order["id"]) == before
    assert payment_row(created["payment_id"]).octo_status == "succeeded"
    assert events(created["payment_id"])[-1].outcome == "stale"


@pytest.mark.parametrize(
    ("octo_status", "status"),
    [
        ("created", "CREATED"),
        ("wait_user_action", "PENDING"),
        ("WAIT_USER_ACTION", "PENDING"),
        ("succeeded", "PAID"),
        ("paid", "PAID"),
        ("captured", "PAID"),
        ("completed", "PAID"),
        ("canceled", "CANCELLED"),
        ("cancelled", "CANCELLED"),
        ("failed", "FAILED"),
    ],
)
def test_status_table(client, octo, pending, octo_status, status):
    order, created = pending
    payload = signed_callback(octo, created["octo_payment_UUID"], octo_status)
    assert notify(client, payload).status_code == 200
    assert payment_row(created["payment_id"]).status == status
    assert order_row(order["id"]).status == ("confirmed" if status == "PAID" else "pending")


def test_an_unknown_status_is_kept_and_changes_nothing(client, octo, pending):
    order, created = pending
    before = snapshot(created["payment_id"], order["id"])
    payload = signed_callback(octo, created["octo_payment_UUID"], "teleported")
    assert notify(client, payload).status_code == 200
    assert snapshot(created["payment_id"], order["id"]) == before
    assert events(created["payment_id"])[-1].outcome == "unknown_status"


@pytest.mark.parametrize(
    "changes",
    [
        {"total_sum": Decimal("1.00")},
        {"total_sum": Decimal("250001.01")},
        {"total_sum": "lots"},
        {"currency": "USD"},
    ],
)
def test_an_amount_that_disagrees_is_recorded_not_paid(client, octo, pending, changes, caplog):
    order, created = pending
    payload = signed_callback(octo, created["octo_payment_UUID"], "succeeded", **changes)
    response = notify(client, payload)
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert payment_row(created["payment_id"]).status == "CREATED"
    assert order_row(order["id"]).status == "pending"
    event = events(created["payment_id"])[-1]
    assert event.outcome == "amount_mismatch" and event.signature_valid is True
    assert "not marked paid" in caplog.text


def test_the_amount_as_a_string_or_without_decimals_matches(client, octo, pending):
    _order, created = pending
    payload = signed_callback(octo, created["octo_payment_UUID"], "succeeded")
    payload["total_sum"] = "250001.00"
    assert notify(client, payload).status_code == 200
    assert payment_row(created["payment_id"]).status == "PAID"


@pytest.mark.parametrize("closing", ["canceled", "failed"])
def test_a_closed_payment_leaves_the_order_payable_again(
    client, octo, user_headers, pending, closing
):
    order, created = pending
    assert notify(client, signed_callback(octo, created["octo_payment_UUID"], closing)).status_code
    assert payment_row(created["payment_id"]).status in ("CANCELLED", "FAILED")
    assert order_row(order["id"]).status == "pending"
    again = create_payment(client, user_headers, order["id"])
    assert again["payment_id"] != created["payment_id"]
    assert again["octo_payment_UUID"] != created["octo_payment_UUID"]
    first_ref = payment_row(created["payment_id"]).shop_transaction_id
    assert payment_row(again["payment_id"]).shop_transaction_id != first_ref


def test_success_after_the_payment_was_closed_is_refunded(client, octo, pending):
    order, created = pending
    uuid = created["octo_payment_UUID"]
    notify(client, signed_callback(octo, uuid, "canceled"))
    octo.set_status(uuid, "succeeded")  # OCTO took the money after all
    assert notify(client, signed_callback(octo, uuid, "succeeded")).status_code == 200
    payment = payment_row(created["payment_id"])
    assert payment.status == "CANCELLED" and payment.refunded_amount == payment.amount
    assert octo.payment(uuid)["refunded_sum"] == payment.amount
    assert order_row(order["id"]).status == "pending"
    assert events(payment.id)[-2].outcome == "refund_scheduled"
    # A repeat does not refund twice.
    assert notify(client, signed_callback(octo, uuid, "succeeded")).status_code == 200
    assert len(octo.payment(uuid)["refunds"]) == 1


class TestTwoStage:
    @pytest.fixture(autouse=True)
    def _two_stage(self, app, octo, monkeypatch):
        monkeypatch.setitem(app.config, "OCTO_AUTO_CAPTURE", False)

    def test_a_hold_of_the_right_amount_is_captured(self, client, octo, pending):
        order, created = pending
        payload = signed_callback(octo, created["octo_payment_UUID"], "waiting_for_capture")
        answers = [notify(client, payload).get_json() for _ in range(2)]
        assert answers == [{"accept_status": "capture"}] * 2
        payment = payment_row(created["payment_id"])
        assert (payment.status, payment.octo_status) == ("PENDING", "waiting_for_capture")
        assert order_row(order["id"]).status == "pending"

    def test_a_hold_of_another_amount_is_cancelled(self, client, octo, pending):
        _order, created = pending
        payload = signed_callback(
            octo, created["octo_payment_UUID"], "waiting_for_capture", total_sum=Decimal("9.99")
        )
        assert notify(client, payload).get_json() == {"accept_status": "cancel"}
        assert events(created["payment_id"])[-1].outcome == "amount_mismatch"

    def test_a_hold_for_an_order_no_longer_pending_is_cancelled(
        self, client, octo, user_headers, pending
    ):
        order, created = pending
        client.patch(f"/orders/{order['id']}", json={"status": "cancelled"}, headers=user_headers)
        payload = signed_callback(octo, created["octo_payment_UUID"], "waiting_for_capture")
        assert notify(client, payload).get_json() == {"accept_status": "cancel"}


def test_a_hold_is_cancelled_when_we_run_one_stage(client, octo, pending):
    _order, created = pending
    payload = signed_callback(octo, created["octo_payment_UUID"], "waiting_for_capture")
    assert notify(client, payload).get_json() == {"accept_status": "cancel"}
