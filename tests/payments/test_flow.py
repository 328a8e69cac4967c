"""The whole journey over real HTTP: order, OCTO pay page, signed callback, refunds."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from slippers.cart.models import Cart, CartItem
from slippers.extensions import db
from slippers.payments.models import Payment
from tests.orders.fixtures import stock_of
from tests.payments.helpers import (
    click,
    create_payment,
    events,
    history,
    open_pay_page,
    order_row,
    payment_row,
    place_order,
    refunds,
)


def cart_lines(user_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(CartItem).join(Cart).where(Cart.user_id == user_id)
    ).scalar_one()


def test_pay_then_refund_in_two_parts(
    client, shop, octo, user, user_headers, admin_headers, slipper, make_slipper
):
    other = make_slipper("Warm", price="10000.00", quantity=5)
    order = place_order(client, user_headers, [(slipper, 2), (other, 1)])
    assert order["total_amount"] == "260001.00"
    client.post("/cart/items", json={"slipper_id": other.id, "quantity": 1}, headers=user_headers)
    assert cart_lines(user.id) == 1
    stock_before = stock_of(slipper.id), stock_of(other.id)

    created = create_payment(client, user_headers, order["id"])
    assert created["order_id"] == order["id"] and created["status"] == "CREATED"
    assert created["octo_pay_url"].startswith(octo.base_url + "/pay/")
    page = open_pay_page(octo, created["octo_pay_url"])
    assert "260,001.00 UZS" in page and 'id="pay-button"' in page

    answer = click(octo, created["octo_payment_UUID"])
    assert answer.status_code == 200
    (callback,) = octo.callbacks()
    assert callback["status_code"] == 200 and callback["status"] == "succeeded"

    payment = payment_row(created["payment_id"])
    assert payment.status == "PAID" and payment.paid_at is not None
    assert order_row(order["id"]).status == "confirmed"
    assert history(order["id"])[-1][:2] == ("pending", "confirmed")
    assert cart_lines(user.id) == 0
    assert [e.outcome for e in events(payment.id)] == ["attached", "applied"]

    uuid = created["octo_payment_UUID"]
    first = client.post(
        "/payments/octo/refund",
        json={"octo_payment_UUID": uuid, "amount": "60000.50"},
        headers=admin_headers,
    )
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["status"] == "PAID" and body["refunded_amount"] == "60000.50"
    assert [r["amount"] for r in body["refunds"]] == ["60000.50"]
    assert order_row(order["id"]).status == "confirmed"

    rest = client.post(
        "/payments/octo/refund", json={"octo_payment_UUID": uuid}, headers=admin_headers
    )
    assert rest.status_code == 200, rest.get_json()
    body = rest.get_json()
    assert body["status"] == "REFUNDED" and body["refunded_amount"] == "260001.00"
    assert [r["amount"] for r in body["refunds"]] == ["60000.50", "200000.50"]
    assert all(r["status"] == "SUCCEEDED" for r in body["refunds"])
    assert octo.payment(uuid)["refunded_sum"] == Decimal("260001.00")
    assert order_row(order["id"]).status == "refunded"
    assert (stock_of(slipper.id), stock_of(other.id)) == (stock_before[0] + 2, stock_before[1] + 1)
    assert len({r.shop_refund_id for r in refunds(payment.id)}) == 2
    assert payment_row(payment.id).status == "REFUNDED"
    assert db.session.get(Payment, payment.id).paid_at == payment.paid_at


def test_two_stage_hold_is_captured_through_the_callback_answer(
    app, client, shop, octo, user_headers, slipper, monkeypatch
):
    monkeypatch.setitem(app.config, "OCTO_AUTO_CAPTURE", False)
    order = place_order(client, user_headers, [(slipper, 1)])
    created = create_payment(client, user_headers, order["id"])
    assert octo.recorded("/prepare_payment")[0]["json"]["auto_capture"] is False
    assert click(octo, created["octo_payment_UUID"]).status_code == 200
    hold, success = octo.callbacks()
    assert hold["status"] == "waiting_for_capture"
    assert hold["response_body"].strip() == '{"accept_status":"capture"}'
    assert success["status"] == "succeeded" and success["status_code"] == 200
    assert payment_row(created["payment_id"]).status == "PAID"
    assert order_row(order["id"]).status == "confirmed"


def test_the_buyer_cancels_on_the_pay_page_and_pays_with_a_new_payment(
    client, shop, octo, user_headers, slipper
):
    order = place_order(client, user_headers, [(slipper, 1)])
    first = create_payment(client, user_headers, order["id"])
    assert click(octo, first["octo_payment_UUID"], "cancel").status_code == 200
    assert payment_row(first["payment_id"]).status == "CANCELLED"
    assert order_row(order["id"]).status == "pending"
    second = create_payment(client, user_headers, order["id"])
    assert click(octo, second["octo_payment_UUID"]).status_code == 200
    assert payment_row(second["payment_id"]).status == "PAID"
    assert order_row(order["id"]).status == "confirmed"
