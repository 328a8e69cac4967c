"""Refunds: only PAID payments, never more than was paid, OCTO's bounds, safe retries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from slippers.extensions import db
from slippers.payments.models import Refund
from tests.conftest import assert_error_shape
from tests.orders.fixtures import stock_of
from tests.payments.helpers import (
    create_payment,
    notify,
    order_row,
    payment_row,
    place_order,
    refunds,
    signed_callback,
)


@pytest.fixture
def paid(client, octo, user_headers, slipper):
    """(order, created payment body) paid at OCTO and here: 250001.00 UZS."""
    order = place_order(client, user_headers, [(slipper, 2)])
    created = create_payment(client, user_headers, order["id"])
    octo.set_status(created["octo_payment_UUID"], "succeeded")
    assert (
        notify(client, signed_callback(octo, created["octo_payment_UUID"], "succeeded")).status_code
        == 200
    )
    assert payment_row(created["payment_id"]).status == "PAID"
    return order, created


def refund(client, headers, uuid, amount=None, **extra_headers):
    body = {"octo_payment_UUID": uuid}
    if amount is not None:
        body["amount"] = amount
    return client.post("/payments/octo/refund", json=body, headers={**headers, **extra_headers})


def test_partial_refunds_add_up_and_never_exceed_what_was_paid(client, octo, paid, admin_headers):
    order, created = paid
    uuid = created["octo_payment_UUID"]
    assert refund(client, admin_headers, uuid, "100000.00").status_code == 200
    assert_error_shape(refund(client, admin_headers, uuid, "150001.01"), 409)
    assert refund(client, admin_headers, uuid, "150001.00").status_code == 200
    assert_error_shape(refund(client, admin_headers, uuid, "0.01"), 409)
    assert_error_shape(refund(client, admin_headers, uuid), 409)
    payment = payment_row(created["payment_id"])
    assert payment.status == "REFUNDED" and payment.refunded_amount == Decimal("250001.00")
    assert octo.payment(uuid)["refunded_sum"] == Decimal("250001.00")
    assert order_row(order["id"]).status == "refunded"


def test_more_than_was_paid_at_once_is_409(client, octo, paid, admin_headers):
    _order, created = paid
    response = refund(client, admin_headers, created["octo_payment_UUID"], "250001.01")
    assert_error_shape(response, 409)
    assert refunds(created["payment_id"]) == [] and octo.recorded("/refund") == []


def test_a_payment_not_paid_cannot_be_refunded(client, octo, user_headers, slipper, admin_headers):
    order = place_order(client, user_headers, [(slipper, 1)])
    created = create_payment(client, user_headers, order["id"])
    assert_error_shape(refund(client, admin_headers, created["octo_payment_UUID"]), 409)
    assert_error_shape(refund(client, admin_headers, "no-such-uuid"), 404)


def test_who_may_refund(client, octo, paid, user_headers, other_headers):
    uuid = paid[1]["octo_payment_UUID"]
    assert_error_shape(refund(client, user_headers, uuid), 403)
    assert_error_shape(refund(client, other_headers, uuid), 403)
    assert_error_shape(refund(client, {}, uuid), 401)
    assert refunds(paid[1]["payment_id"]) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"amount": "1.00"},
        {"octo_payment_UUID": "", "amount": "1.00"},
        {"octo_payment_UUID": "x" * 65},
        {"octo_payment_UUID": 5},
        {"octo_payment_UUID": "a\u0000b"},
        {"octo_payment_UUID": "\ud800"},
        {"octo_payment_UUID": "UUID", "amount": "0"},
        {"octo_payment_UUID": "UUID", "amount": "-1"},
        {"octo_payment_UUID": "UUID", "amount": "1.005"},
        {"octo_payment_UUID": "UUID", "amount": "ten"},
        {"octo_payment_UUID": "UUID", "amount": True},
        {"octo_payment_UUID": "UUID", "reason": "because"},
    ],
)
def test_bad_refund_bodies_are_422(client, octo, paid, admin_headers, body):
    body = {k: paid[1]["octo_payment_UUID"] if v == "UUID" else v for k, v in body.items()}
    assert_error_shape(client.post("/payments/octo/refund", json=body, headers=admin_headers), 422)
    assert refunds(paid[1]["payment_id"]) == []


def test_one_usd_minimum_when_a_rate_is_set(app, client, octo, paid, admin_headers, monkeypatch):
    monkeypatch.setitem(app.config, "OCTO_USD_UZS_RATE", "12650")
    uuid = paid[1]["octo_payment_UUID"]
    body = assert_error_shape(refund(client, admin_headers, uuid, "12649.99"), 422)
    assert "1 USD" in body["message"]
    assert refund(client, admin_headers, uuid, "12650").status_code == 200


def test_at_most_the_per_refund_cap(app, client, octo, paid, admin_headers, monkeypatch):
    monkeypatch.setitem(app.config, "OCTO_MAX_REFUND_UZS", "100000")
    uuid = paid[1]["octo_payment_UUID"]
    assert_error_shape(refund(client, admin_headers, uuid, "100000.01"), 422)
    assert_error_shape(refund(client, admin_headers, uuid), 422)  # all would be over the cap
    assert refund(client, admin_headers, uuid, "100000").status_code == 200


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"mode": "error", "error_code": 3, "message": "invalid refund amount"}, 502),
        ({"mode": "http500", "count": 2}, 502),
        ({"mode": "timeout", "delay_sec": 3, "count": 2}, 504),
    ],
)
def test_a_failed_refund_is_retried_with_its_own_id(client, octo, paid, admin_headers, fault, code):
    _order, created = paid
    uuid = created["octo_payment_UUID"]
    octo.fault(paths=["/refund"], **fault)
    assert_error_shape(refund(client, admin_headers, uuid, "50000.00"), code)
    (failed,) = refunds(created["payment_id"])
    assert failed.status == "FAILED" and failed.last_error
    payment = payment_row(created["payment_id"])
    assert payment.status == "PAID" and payment.refunded_amount == Decimal("0.00")

    octo.control("DELETE", "/faults")
    octo.state.wait_idle()
    assert refund(client, admin_headers, uuid, "50000.00").status_code == 200
    (done,) = refunds(created["payment_id"])
    assert done.id == failed.id and done.status == "SUCCEEDED" and done.last_error is None
    sent = {call["json"]["shop_refund_id"] for call in octo.recorded("/refund")}
    assert sent == {done.shop_refund_id}
    assert octo.payment(uuid)["refunded_sum"] == Decimal("50000.00")
    assert payment_row(created["payment_id"]).refunded_amount == Decimal("50000.00")


def test_a_refund_in_flight_counts_against_what_remains(client, octo, paid, admin_headers):
    _order, created = paid
    uuid = created["octo_payment_UUID"]
    db.session.add(
        Refund(
            payment_id=created["payment_id"],
            shop_refund_id="rf-in-flight",
            amount=Decimal("150000.00"),
            status="PENDING",
        )
    )
    db.session.commit()
    assert_error_shape(refund(client, admin_headers, uuid, "150000.00"), 409)
    assert refund(client, admin_headers, uuid).get_json()["refunds"][-1]["amount"] == "100001.00"


def test_an_abandoned_refund_is_retried_with_its_id(client, octo, paid, admin_headers):
    _order, created = paid
    stale = Refund(
        payment_id=created["payment_id"],
        shop_refund_id="rf-abandoned-1",
        amount=Decimal("150000.00"),
        status="PENDING",
    )
    db.session.add(stale)
    db.session.commit()
    stale.updated_at = stale.updated_at - timedelta(hours=1)
    db.session.commit()
    response = refund(client, admin_headers, created["octo_payment_UUID"], "150000.00")
    assert response.status_code == 200
    assert [r["shop_refund_id"] for r in response.get_json()["refunds"]] == ["rf-abandoned-1"]
    assert octo.recorded("/refund")[0]["json"]["shop_refund_id"] == "rf-abandoned-1"


def test_full_refund_of_a_shipped_order_keeps_the_stock(client, octo, paid, admin_headers, slipper):
    order, created = paid
    assert (
        client.patch(
            f"/orders/{order['id']}", json={"status": "shipped"}, headers=admin_headers
        ).status_code
        == 200
    )
    before = stock_of(slipper.id)
    assert refund(client, admin_headers, created["octo_payment_UUID"]).status_code == 200
    assert order_row(order["id"]).status == "refunded"
    assert stock_of(slipper.id) == before


def test_the_answer_is_the_payment_with_its_refunds(client, octo, paid, admin_headers):
    _order, created = paid
    body = refund(client, admin_headers, created["octo_payment_UUID"], "1.00").get_json()
    assert body["id"] == created["payment_id"] and body["refunded_amount"] == "1.00"
    (item,) = body["refunds"]
    assert item["amount"] == "1.00" and item["status"] == "SUCCEEDED"
    assert item["is_automatic"] is False and item["octo_refund_id"]
    assert body["events"][-1]["outcome"] == "refunded"


def test_idempotency_key_on_refund(client, octo, paid, admin_headers):
    uuid = paid[1]["octo_payment_UUID"]
    first = refund(client, admin_headers, uuid, "10.00", **{"Idempotency-Key": "rf-1"})
    again = refund(client, admin_headers, uuid, "10.00", **{"Idempotency-Key": "rf-1"})
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data()
    assert len(octo.recorded("/refund")) == 1
    assert payment_row(paid[1]["payment_id"]).refunded_amount == Decimal("10.00")
    other = refund(client, admin_headers, uuid, "11.00", **{"Idempotency-Key": "rf-1"})
    assert_error_shape(other, 422)
