"""The state machine through PATCH/PUT: who may make which move, and stock returned once."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from slippers.errors import Conflict
from slippers.extensions import db
from slippers.orders.models import ORDER_STATUSES, Order, OrderStatusChange
from slippers.orders.states import TRANSITIONS, can_move, move_order
from tests.conftest import assert_error_shape
from tests.orders.fixtures import stock_of

ADMIN_MOVES = {("confirmed", "shipped"), ("shipped", "delivered"), ("pending", "cancelled")}
PAYMENT_MOVES = {
    ("pending", "confirmed"),
    ("confirmed", "refunded"),
    ("shipped", "refunded"),
    ("delivered", "refunded"),
}


@pytest.fixture
def new_order(client, user_headers, make_slipper):
    """Places an order of 2 pairs of a slipper with 10 in stock; returns (order id, slipper)."""

    def _new(quantity: int = 2):
        slipper = make_slipper(quantity=10)
        response = client.post(
            "/orders/",
            json={"items": [{"slipper_id": slipper.id, "quantity": quantity}]},
            headers=user_headers,
        )
        assert response.status_code == 201
        return response.get_json()["id"], slipper

    return _new


def force_status(order_id: int, status: str) -> None:
    db.session.execute(update(Order).where(Order.id == order_id).values(status=status))
    db.session.commit()


def test_the_table_is_exactly_the_documented_moves():
    moves = {(src, dst) for src, targets in TRANSITIONS.items() for dst in targets}
    assert moves == ADMIN_MOVES | PAYMENT_MOVES
    assert set(TRANSITIONS) == set(ORDER_STATUSES)
    for src, dst in PAYMENT_MOVES:
        assert can_move(src, dst, "payment")
        assert not can_move(src, dst, "admin") and not can_move(src, dst, "owner")
    assert can_move("pending", "cancelled", "owner") and can_move("pending", "cancelled", "system")
    assert not can_move("confirmed", "shipped", "owner")


@pytest.mark.parametrize("src", ORDER_STATUSES)
@pytest.mark.parametrize("dst", ORDER_STATUSES)
def test_admin_patch_every_pair(client, admin_headers, new_order, src, dst):
    order_id, _ = new_order()
    force_status(order_id, src)
    response = client.patch(f"/orders/{order_id}", json={"status": dst}, headers=admin_headers)
    if (src, dst) in ADMIN_MOVES:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == dst
    else:
        assert_error_shape(response, 409)
        assert db.session.get(Order, order_id).status == src


@pytest.mark.parametrize("src", ORDER_STATUSES)
@pytest.mark.parametrize("dst", ORDER_STATUSES)
def test_owner_patch_every_pair(client, user_headers, new_order, src, dst):
    order_id, _ = new_order()
    force_status(order_id, src)
    response = client.put(f"/orders/{order_id}", json={"status": dst}, headers=user_headers)
    if (src, dst) == ("pending", "cancelled"):
        assert response.status_code == 200
    else:
        assert_error_shape(response, 409)
        db.session.expire_all()
        assert db.session.get(Order, order_id).status == src


def test_payment_moves_are_made_by_the_payment_role_only(new_order, user):
    order_id, _ = new_order()
    order = db.session.get(Order, order_id)
    move_order(order, "confirmed", role="payment", reason="paid")
    move_order(order, "shipped", role="admin", actor_id=user.id)
    move_order(order, "refunded", role="payment", reason="full refund")
    db.session.commit()
    history = db.session.execute(
        select(OrderStatusChange.from_status, OrderStatusChange.to_status)
        .where(OrderStatusChange.order_id == order_id)
        .order_by(OrderStatusChange.id)
    ).all()
    assert [tuple(row) for row in history] == [
        (None, "pending"),
        ("pending", "confirmed"),
        ("confirmed", "shipped"),
        ("shipped", "refunded"),
    ]


def test_move_on_a_stale_object_is_refused(new_order):
    """Two requests read `pending`; only the first conditional UPDATE wins."""
    order_id, _ = new_order()
    stale = db.session.get(Order, order_id)
    db.session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    assert stale.status == "pending"
    with pytest.raises(Conflict, match="changed meanwhile"):
        move_order(stale, "cancelled", role="admin")


def test_owner_cancel_returns_stock_once(client, user_headers, new_order):
    order_id, slipper = new_order(quantity=3)
    assert stock_of(slipper.id) == 7
    first = client.patch(f"/orders/{order_id}", json={"status": "cancelled"}, headers=user_headers)
    assert first.status_code == 200 and stock_of(slipper.id) == 10
    history = first.get_json()["status_history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "pending"),
        ("pending", "cancelled"),
    ]
    again = client.patch(f"/orders/{order_id}", json={"status": "cancelled"}, headers=user_headers)
    assert_error_shape(again, 409)
    assert stock_of(slipper.id) == 10


def test_admin_cancel_returns_stock(client, admin, admin_headers, new_order):
    order_id, slipper = new_order(quantity=4)
    body = client.patch(f"/orders/{order_id}", json={"status": "cancelled"}, headers=admin_headers)
    assert body.status_code == 200 and stock_of(slipper.id) == 10
    assert body.get_json()["status_history"][-1]["changed_by_user_id"] == admin.id


def test_shipping_does_not_return_stock(client, admin_headers, new_order):
    order_id, slipper = new_order(quantity=4)
    force_status(order_id, "confirmed")
    client.patch(f"/orders/{order_id}", json={"status": "shipped"}, headers=admin_headers)
    assert stock_of(slipper.id) == 6


def test_owner_notes_only_while_pending(client, user_headers, new_order):
    order_id, _ = new_order()
    ok = client.patch(f"/orders/{order_id}", json={"notes": "Leave at door"}, headers=user_headers)
    assert ok.status_code == 200 and ok.get_json()["notes"] == "Leave at door"
    cleared = client.put(f"/orders/{order_id}", json={"notes": None}, headers=user_headers)
    assert cleared.get_json()["notes"] is None
    force_status(order_id, "confirmed")
    late = client.patch(f"/orders/{order_id}", json={"notes": "x"}, headers=user_headers)
    assert_error_shape(late, 409)


def test_owner_notes_and_cancel_together(client, user_headers, new_order):
    order_id, slipper = new_order()
    body = client.patch(
        f"/orders/{order_id}",
        json={"notes": "changed my mind", "status": "cancelled"},
        headers=user_headers,
    ).get_json()
    assert body["status"] == "cancelled" and body["notes"] == "changed my mind"
    assert stock_of(slipper.id) == 10


def test_refused_move_writes_nothing(client, user_headers, new_order):
    order_id, _ = new_order()
    response = client.patch(
        f"/orders/{order_id}", json={"notes": "sneaky", "status": "confirmed"}, headers=user_headers
    )
    assert_error_shape(response, 409)
    db.session.expire_all()
    assert db.session.get(Order, order_id).notes is None


def test_admin_notes_in_any_status(client, admin_headers, new_order):
    order_id, _ = new_order()
    force_status(order_id, "delivered")
    body = client.patch(f"/orders/{order_id}", json={"notes": "signed"}, headers=admin_headers)
    assert body.status_code == 200 and body.get_json()["notes"] == "signed"


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "teleported"},
        {"status": 1},
        {"status": None},
        {"notes": "y" * 1001},
        {"total_amount": "0.01"},
        {"user_id": 1},
        {"items": []},
    ],
)
def test_bad_update_bodies_are_422(client, user_headers, new_order, payload):
    order_id, _ = new_order()
    assert_error_shape(client.patch(f"/orders/{order_id}", json=payload, headers=user_headers), 422)


def test_another_users_order_is_404(client, other_headers, new_order):
    order_id, slipper = new_order()
    for method in ("get", "patch", "put", "delete"):
        response = getattr(client, method)(
            f"/orders/{order_id}", json={"status": "cancelled"}, headers=other_headers
        )
        assert_error_shape(response, 404)
    assert db.session.get(Order, order_id).status == "pending"
    assert stock_of(slipper.id) == 8


def test_unknown_order_is_404(client, user_headers, admin_headers):
    for headers in (user_headers, admin_headers):
        assert_error_shape(client.get("/orders/424242", headers=headers), 404)
        assert_error_shape(client.patch("/orders/424242", json={}, headers=headers), 404)
        assert_error_shape(client.delete("/orders/424242", headers=headers), 404)
    assert_error_shape(client.get("/orders/99999999999999999999", headers=user_headers), 404)
