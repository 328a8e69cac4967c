"""Creating a payment: what OCTO is sent, who may pay what, and the open payment reused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from slippers.extensions import db
from slippers.payments.models import Payment
from tests.conftest import assert_error_shape, bearer, login_tokens
from tests.payments.helpers import create_payment, payment_row, place_order


def payments_count() -> int:
    return db.session.execute(select(func.count()).select_from(Payment)).scalar_one()


@pytest.fixture
def order(client, octo, user_headers, slipper):
    return place_order(client, user_headers, [(slipper, 2)])


def test_what_octo_receives(app, client, octo, make_user, slipper, make_slipper, monkeypatch):
    monkeypatch.setitem(
        app.config,
        "OCTO_EXTRA_PARAMS",
        {
            "total_sum": 1,
            "currency": "USD",
            "octo_secret": "stolen",
            "octo_shop_id": 666,
            "shop_transaction_id": "mine",
            "notify_url": "http://evil.test/",
            "return_url": "http://evil.test/",
            "payment_methods": [{"method": "uzcard"}],
        },
    )
    buyer = make_user("payer", email="payer@example.com", phone_number="+998901234567")
    headers = bearer(login_tokens(client, "payer")["access_token"])
    cheap = make_slipper("Cheap <b>", price="0.10", quantity=9, size="40")
    order = place_order(client, headers, [(slipper, 3), (cheap, 7)])
    assert order["total_amount"] == "375002.20"

    created = create_payment(client, headers, order["id"])

    (call,) = octo.recorded("/prepare_payment")
    sent = call["json"]
    payment = payment_row(created["payment_id"])
    assert sent["octo_shop_id"] == 1 and sent["octo_secret"] == "sim-secret"
    assert sent["shop_transaction_id"] == payment.shop_transaction_id
    assert sent["total_sum"] == Decimal("375002.20") == payment.amount
    assert '"total_sum": 375002.20' in call["body"]  # a JSON number, exact, two places
    assert sent["currency"] == "UZS" == payment.currency
    assert sent["notify_url"] == app.config["OCTO_NOTIFY_URL"]
    assert sent["return_url"] == f"http://shop.test/orders/{order['id']}"
    assert sent["description"] == f"Slippers order #{order['id']}"
    assert sent["payment_methods"] == [{"method": "uzcard"}]
    assert sent["auto_capture"] is True and sent["test"] is True
    assert sent["language"] == "uz" and sent["ttl"] == 15
    assert sent["user_data"] == {
        "user_id": str(buyer.id),
        "phone": "+998901234567",
        "email": "payer@example.com",
    }
    assert sent["basket"] == [
        {"position_desc": "Cosy (size 42)", "count": 3, "price": Decimal("125000.50")},
        {"position_desc": "Cheap <b> (size 40)", "count": 7, "price": Decimal("0.10")},
    ]
    assert len(payment.shop_transaction_id) <= 64
    assert created == {
        "payment_id": payment.id,
        "order_id": order["id"],
        "octo_payment_UUID": payment.octo_payment_uuid,
        "octo_pay_url": payment.octo_pay_url,
        "status": "CREATED",
    }
    assert payment.refunded_amount == Decimal("0.00")


def test_user_data_is_left_out_when_incomplete(client, octo, order, user_headers):
    create_payment(client, user_headers, order["id"])
    (call,) = octo.recorded("/prepare_payment")
    assert "user_data" not in call["json"]


def test_order_id_alias_and_matching_old_amount_fields(client, octo, order, user_headers):
    body = {"order_id": order["id"], "amount": "250001.00", "total_sum": 250001}
    response = client.post("/payments/octo/create", json=body, headers=user_headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["order_id"] == order["id"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"orderId": "ORDER", "order_id": "ORDER"},
        {"orderId": "1"},
        {"orderId": 1.5},
        {"orderId": True},
        {"orderId": -1},
        {"orderId": 2**40},
        {"orderId": None},
        {"orderId": "ORDER", "price": "1.00"},
        {"orderId": "ORDER", "amount": "-5"},
        {"orderId": "ORDER", "amount": "1.001"},
        {"orderId": "ORDER", "amount": "NaN"},
        {"orderId": "ORDER", "status": "PAID"},
    ],
)
def test_bad_bodies_are_422_and_nothing_is_sent(client, octo, order, user_headers, body):
    body = {k: order["id"] if v == "ORDER" else v for k, v in body.items()}
    response = client.post("/payments/octo/create", json=body, headers=user_headers)
    assert_error_shape(response, 422)
    assert payments_count() == 0 and octo.recorded() == []


@pytest.mark.parametrize("field", ["amount", "total_sum"])
@pytest.mark.parametrize("value", ["250000.99", 1, "0", "250001.01"])
def test_an_old_amount_other_than_the_total_is_422(client, octo, order, user_headers, field, value):
    response = client.post(
        "/payments/octo/create", json={"orderId": order["id"], field: value}, headers=user_headers
    )
    body = assert_error_shape(response, 422)
    assert field in body["errors"] and "250001.00" in body["message"]
    assert payments_count() == 0 and octo.recorded() == []


def test_another_users_or_a_missing_order_is_404(client, octo, order, other_headers, admin_headers):
    for headers, order_id in ((other_headers, order["id"]), (admin_headers, order["id"])):
        response = client.post("/payments/octo/create", json={"orderId": order_id}, headers=headers)
        assert_error_shape(response, 404)
    response = client.post(
        "/payments/octo/create", json={"orderId": order["id"] + 999}, headers=other_headers
    )
    assert_error_shape(response, 404)
    assert payments_count() == 0


def test_anonymous_is_401(client, octo, order):
    assert_error_shape(client.post("/payments/octo/create", json={"orderId": order["id"]}), 401)


def test_only_a_pending_order_can_be_paid(client, octo, order, user_headers):
    client.patch(f"/orders/{order['id']}", json={"status": "cancelled"}, headers=user_headers)
    response = client.post(
        "/payments/octo/create", json={"orderId": order["id"]}, headers=user_headers
    )
    assert_error_shape(response, 409)
    assert payments_count() == 0


def test_an_open_payment_is_returned_again(client, octo, order, user_headers):
    first = create_payment(client, user_headers, order["id"])
    again = create_payment(client, user_headers, order["id"], expect=200)
    assert again == first
    assert len(octo.recorded("/prepare_payment")) == 1
    assert payments_count() == 1


def test_an_open_payment_past_octo_ttl_is_checked_and_replaced(client, octo, order, user_headers):
    first = create_payment(client, user_headers, order["id"])
    payment = payment_row(first["payment_id"])
    payment.created_at = payment.created_at.replace(year=payment.created_at.year - 1)
    db.session.commit()
    again = create_payment(client, user_headers, order["id"])
    assert again["payment_id"] != first["payment_id"]
    assert payment_row(first["payment_id"]).status == "CANCELLED"
    assert len(octo.recorded("/prepare_payment")) == 3  # create, status check, create


def test_a_broken_description_template_still_pays(
    app, client, octo, order, user_headers, monkeypatch
):
    monkeypatch.setitem(app.config, "OCTO_DESCRIPTION", "Order {oops} {")
    create_payment(client, user_headers, order["id"])
    (call,) = octo.recorded("/prepare_payment")
    assert call["json"]["description"] == f"Order {{oops}} {{ #{order['id']}"


def test_idempotency_key_replays_the_first_answer(client, octo, order, user_headers):
    headers = {**user_headers, "Idempotency-Key": "pay-1"}
    body = {"orderId": order["id"]}
    first = client.post("/payments/octo/create", json=body, headers=headers)
    again = client.post("/payments/octo/create", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotency-Replayed"] == "true"
    assert len(octo.recorded("/prepare_payment")) == 1
    other = client.post("/payments/octo/create", json={"order_id": order["id"]}, headers=headers)
    assert_error_shape(other, 422)
