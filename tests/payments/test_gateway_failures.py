"""OCTO down or refusing: 502/504 in the error shape, nothing lost, and a retry that works."""

from __future__ import annotations

import pytest

from slippers.extensions import db
from tests.conftest import assert_error_shape
from tests.live_server import free_port
from tests.payments.helpers import order_row, payment_row, place_order


@pytest.fixture
def order(client, octo, user_headers, slipper):
    return place_order(client, user_headers, [(slipper, 1)])


def create(client, headers, order_id):
    return client.post("/payments/octo/create", json={"orderId": order_id}, headers=headers)


FAULTS = [
    ({"mode": "http500", "count": 2}, 502, "answered HTTP 500"),
    ({"mode": "nonjson"}, 502, "not a JSON object"),
    (
        {"mode": "error", "error_code": 2, "message": "wrong octo_shop_id"},
        502,
        "wrong octo_shop_id",
    ),
    ({"mode": "error", "error_code": 1, "message": "data format error"}, 502, "data format error"),
    ({"mode": "timeout", "delay_sec": 3, "count": 2}, 504, "did not answer"),
]


@pytest.mark.parametrize(("fault", "code", "message"), FAULTS)
def test_gateway_failure_then_a_retry_with_the_same_reference(
    client, octo, order, user_headers, fault, code, message
):
    octo.fault(**fault)
    failed = create(client, user_headers, order["id"])
    body = assert_error_shape(failed, code)
    assert message in body["message"]
    assert "sim-secret" not in failed.get_data(as_text=True)
    assert order_row(order["id"]).status == "pending"

    octo.control("DELETE", "/faults")
    retried = create(client, user_headers, order["id"])
    assert retried.status_code == 201, retried.get_json()
    payment = payment_row(retried.get_json()["payment_id"])
    assert payment.status == "CREATED" and payment.last_error is None
    assert payment.octo_payment_uuid == retried.get_json()["octo_payment_UUID"]
    references = {call["json"]["shop_transaction_id"] for call in octo.recorded("/prepare_payment")}
    assert references == {payment.shop_transaction_id}
    assert len(octo.state.payments) == 1  # OCTO de-duplicated the attempts


def test_the_error_is_kept_on_the_payment(client, octo, order, user_headers, admin_headers):
    octo.fault("error", error_code=2, message="wrong octo_shop_id or octo_secret")
    assert_error_shape(create(client, user_headers, order["id"]), 502)
    listing = client.get(f"/payments/?order_id={order['id']}", headers=admin_headers).get_json()
    (item,) = listing["items"]
    assert item["status"] == "CREATED" and item["octo_payment_UUID"] is None
    assert payment_row(item["id"]).last_error == "wrong octo_shop_id or octo_secret"


def test_an_unreachable_gateway_is_502(app, client, octo, order, user_headers, monkeypatch):
    monkeypatch.setitem(app.config, "OCTO_API_BASE", f"http://127.0.0.1:{free_port()}")
    body = assert_error_shape(create(client, user_headers, order["id"]), 502)
    assert "unreachable" in body["message"]
    assert order_row(order["id"]).status == "pending"


def test_a_different_amount_in_octos_answer_fails_that_attempt(client, octo, order, user_headers):
    first = create(client, user_headers, order["id"])
    payment_id = first.get_json()["payment_id"]
    # Another attempt for the same reference answering a different amount is refused.
    payment = payment_row(payment_id)
    octo.state.payments[payment.octo_payment_uuid].total_sum = payment.amount + 1
    payment.octo_payment_uuid = None
    db.session.commit()
    refused = create(client, user_headers, order["id"])
    assert_error_shape(refused, 502)
    assert payment_row(payment_id).status == "FAILED"
    again = create(client, user_headers, order["id"])
    assert again.status_code == 201 and again.get_json()["payment_id"] != payment_id
