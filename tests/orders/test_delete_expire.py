"""Deleting orders and expiring unpaid ones: stock comes back exactly once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from slippers.db_types import utcnow
from slippers.extensions import db
from slippers.orders.models import Order, OrderItem, OrderStatusChange
from slippers.orders.service import expire_pending_orders
from slippers.payments.models import Payment
from tests.conftest import assert_error_shape
from tests.orders.fixtures import stock_of


@pytest.fixture
def slipper(make_slipper):
    return make_slipper(quantity=10)


@pytest.fixture
def place(client, slipper):
    def _place(headers, quantity: int = 2, age_minutes: int = 0) -> int:
        response = client.post(
            "/orders/",
            json={"items": [{"slipper_id": slipper.id, "quantity": quantity}]},
            headers=headers,
        )
        assert response.status_code == 201
        order_id = response.get_json()["id"]
        if age_minutes:
            created = utcnow() - timedelta(minutes=age_minutes)
            db.session.execute(update(Order).where(Order.id == order_id).values(created_at=created))
            db.session.commit()
        return order_id

    return _place


def set_status(order_id: int, status: str) -> None:
    db.session.execute(update(Order).where(Order.id == order_id).values(status=status))
    db.session.commit()


def add_payment(order_id: int, status: str) -> None:
    db.session.add(
        Payment(
            order_id=order_id,
            amount=Decimal("1.00"),
            currency="UZS",
            status=status,
            shop_transaction_id=uuid.uuid4().hex,
        )
    )
    db.session.commit()


def rows(model, order_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(model).where(model.order_id == order_id)
    ).scalar_one()


def test_delete_pending_returns_stock_once(client, user_headers, place, slipper):
    order_id = place(user_headers, quantity=3)
    assert stock_of(slipper.id) == 7
    response = client.delete(f"/orders/{order_id}", headers=user_headers)
    assert response.status_code == 204 and response.get_data() == b""
    assert stock_of(slipper.id) == 10
    assert db.session.get(Order, order_id) is None
    assert rows(OrderItem, order_id) == 0 and rows(OrderStatusChange, order_id) == 0
    assert_error_shape(client.delete(f"/orders/{order_id}", headers=user_headers), 404)
    assert stock_of(slipper.id) == 10


def test_delete_cancelled_does_not_return_stock_again(client, user_headers, place, slipper):
    order_id = place(user_headers, quantity=3)
    client.patch(f"/orders/{order_id}", json={"status": "cancelled"}, headers=user_headers)
    assert stock_of(slipper.id) == 10
    assert client.delete(f"/orders/{order_id}", headers=user_headers).status_code == 204
    assert stock_of(slipper.id) == 10


def test_admin_may_delete_anyones_pending_order(
    client, user_headers, admin_headers, place, slipper
):
    order_id = place(user_headers)
    assert client.delete(f"/orders/{order_id}", headers=admin_headers).status_code == 204
    assert stock_of(slipper.id) == 10


@pytest.mark.parametrize("status", ["confirmed", "shipped", "delivered", "refunded"])
def test_delete_after_pending_is_409(client, user_headers, admin_headers, place, status):
    order_id = place(user_headers)
    set_status(order_id, status)
    for headers in (user_headers, admin_headers):
        assert_error_shape(client.delete(f"/orders/{order_id}", headers=headers), 409)
    assert db.session.get(Order, order_id) is not None


@pytest.mark.parametrize("payment_status", ["CREATED", "PENDING", "FAILED", "CANCELLED", "PAID"])
def test_delete_with_any_payment_row_is_409(
    client, user_headers, admin_headers, place, slipper, payment_status
):
    """Payment rows are money records: an order that has any is kept."""
    order_id = place(user_headers, quantity=4)
    add_payment(order_id, payment_status)
    for headers in (user_headers, admin_headers):
        assert_error_shape(client.delete(f"/orders/{order_id}", headers=headers), 409)
    assert db.session.get(Order, order_id).status == "pending"
    assert stock_of(slipper.id) == 6


def test_delete_another_users_order_is_404(client, user_headers, other_headers, place, slipper):
    order_id = place(user_headers)
    assert_error_shape(client.delete(f"/orders/{order_id}", headers=other_headers), 404)
    assert stock_of(slipper.id) == 8


def test_expire_cancels_old_unpaid_orders_and_returns_stock(client, user_headers, place, slipper):
    old = place(user_headers, quantity=1, age_minutes=45)
    fresh = place(user_headers, quantity=2, age_minutes=5)
    paid = place(user_headers, quantity=3, age_minutes=45)
    add_payment(paid, "PAID")
    failed = place(user_headers, quantity=1, age_minutes=45)
    add_payment(failed, "FAILED")
    assert stock_of(slipper.id) == 3
    assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 3  # now cached
    assert expire_pending_orders(30) == 2
    statuses = {
        order_id: db.session.get(Order, order_id).status for order_id in (old, fresh, paid, failed)
    }
    assert statuses == {old: "cancelled", fresh: "pending", paid: "pending", failed: "cancelled"}
    assert stock_of(slipper.id) == 5
    assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 5
    change = db.session.execute(
        select(OrderStatusChange).where(
            OrderStatusChange.order_id == old, OrderStatusChange.to_status == "cancelled"
        )
    ).scalar_one()
    assert change.reason == "expired" and change.changed_by_user_id is None
    assert expire_pending_orders(30) == 0
    assert stock_of(slipper.id) == 5


def test_expire_zero_means_all_pending_now(user_headers, place, slipper):
    first, second = place(user_headers), place(user_headers)
    confirmed = place(user_headers)
    set_status(confirmed, "confirmed")
    assert expire_pending_orders(0) == 2
    assert stock_of(slipper.id) == 8
    assert db.session.get(Order, confirmed).status == "confirmed"
    assert {db.session.get(Order, oid).status for oid in (first, second)} == {"cancelled"}


def test_expire_then_cancel_returns_stock_once(client, user_headers, place, slipper):
    order_id = place(user_headers, quantity=5)
    assert expire_pending_orders(0) == 1
    late = client.patch(f"/orders/{order_id}", json={"status": "cancelled"}, headers=user_headers)
    assert_error_shape(late, 409)
    assert stock_of(slipper.id) == 10


def test_expire_runs_in_batches(user_headers, place, slipper, monkeypatch):
    monkeypatch.setattr("slippers.orders.service.EXPIRY_BATCH", 2)
    for _ in range(5):
        place(user_headers, quantity=1)
    assert expire_pending_orders(0) == 5
    assert stock_of(slipper.id) == 10


def test_cli_command_expires(app, user_headers, place, slipper):
    place(user_headers, quantity=4)
    result = app.test_cli_runner().invoke(args=["orders", "expire", "--ttl-minutes", "0"])
    assert result.exit_code == 0, result.output
    assert "Expired 1 pending order(s)." in result.output
    assert stock_of(slipper.id) == 10
