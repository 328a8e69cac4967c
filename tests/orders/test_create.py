"""Placing orders: server prices, bounded and merged lines, atomic stock, hostile bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from slippers.extensions import db
from slippers.orders.models import Order, OrderItem, OrderStatusChange
from tests.conftest import assert_error_shape
from tests.orders.fixtures import stock_of

ORDER_FIELDS = {
    "id",
    "user_id",
    "status",
    "total_amount",
    "currency",
    "notes",
    "items",
    "created_at",
    "updated_at",
}


def place(client, headers, *lines, **extra):
    items = [{"slipper_id": sid, "quantity": qty} for sid, qty in lines]
    return client.post("/orders/", json={"items": items, **extra}, headers=headers)


def order_count() -> int:
    return db.session.execute(select(func.count()).select_from(Order)).scalar_one()


def test_place_order_prices_and_snapshots(client, user, user_headers, make_slipper):
    cheap = make_slipper("Dime", price="0.10", size="38", quantity=10)
    response = place(client, user_headers, (cheap.id, 3), notes="Ring twice")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) >= ORDER_FIELDS
    assert body["total_amount"] == "0.30"
    assert body["status"] == "pending" and body["user_id"] == user.id
    assert body["currency"] == "UZS" and body["notes"] == "Ring twice"
    assert body["items"] == [
        {
            "slipper_id": cheap.id,
            "name": "Dime",
            "size": "38",
            "unit_price": "0.10",
            "quantity": 3,
            "line_total": "0.30",
        }
    ]
    assert body["payments"] == []
    assert [(h["from_status"], h["to_status"]) for h in body["status_history"]] == [
        (None, "pending")
    ]
    assert stock_of(cheap.id) == 7
    stored = db.session.get(Order, body["id"])
    assert stored.total_amount == Decimal("0.30")


def test_trailing_slash_optional(client, user_headers, make_slipper):
    slipper = make_slipper()
    response = client.post(
        "/orders", json={"items": [{"slipper_id": slipper.id, "quantity": 1}]}, headers=user_headers
    )
    assert response.status_code == 201


def test_price_change_after_ordering_does_not_change_the_order(client, user_headers, make_slipper):
    slipper = make_slipper("Felt", price="19.99")
    order = place(client, user_headers, (slipper.id, 2)).get_json()
    slipper.price = Decimal("99.00")
    slipper.name = "Felt Deluxe"
    db.session.commit()
    again = client.get(f"/orders/{order['id']}", headers=user_headers).get_json()
    assert again["total_amount"] == "39.98"
    assert again["items"][0]["unit_price"] == "19.99"
    assert again["items"][0]["name"] == "Felt"


def test_duplicate_lines_merge(client, user_headers, make_slipper):
    a, b = make_slipper(price="1.00"), make_slipper(price="2.00")
    body = place(client, user_headers, (a.id, 2), (b.id, 1), (a.id, 3)).get_json()
    assert [(i["slipper_id"], i["quantity"]) for i in body["items"]] == [(a.id, 5), (b.id, 1)]
    assert body["total_amount"] == "7.00"
    assert stock_of(a.id) == 5


def test_merged_quantity_is_still_bounded(client, user_headers, make_slipper):
    slipper = make_slipper(quantity=200)
    response = place(client, user_headers, (slipper.id, 30), (slipper.id, 21))
    assert_error_shape(response, 422)
    assert stock_of(slipper.id) == 200 and order_count() == 0


@pytest.mark.parametrize("quantity", [0, -1, 51, 10**9, 10**30, "3", 2.5, True, None, "1e3"])
def test_bad_quantities_are_422(client, user_headers, make_slipper, quantity):
    slipper = make_slipper()
    body = assert_error_shape(place(client, user_headers, (slipper.id, quantity)), 422)
    assert "items" in body["errors"]
    assert order_count() == 0 and stock_of(slipper.id) == 10


@pytest.mark.parametrize("field", ["price", "unit_price", "total_amount", "status", "line_total"])
def test_client_prices_and_status_are_refused(client, user_headers, make_slipper, field):
    slipper = make_slipper()
    top = client.post(
        "/orders/",
        json={"items": [{"slipper_id": slipper.id, "quantity": 1}], field: "0.01"},
        headers=user_headers,
    )
    assert field in assert_error_shape(top, 422)["errors"]
    inner = client.post(
        "/orders/",
        json={"items": [{"slipper_id": slipper.id, "quantity": 1, field: "0.01"}]},
        headers=user_headers,
    )
    assert field in str(assert_error_shape(inner, 422)["errors"])
    assert order_count() == 0


def test_user_id_own_is_accepted_other_is_403(
    client, user, other_user, admin, user_headers, admin_headers, make_slipper
):
    slipper = make_slipper()
    own = place(client, user_headers, (slipper.id, 1), user_id=user.id)
    assert own.status_code == 201 and own.get_json()["user_id"] == user.id
    assert_error_shape(place(client, user_headers, (slipper.id, 1), user_id=other_user.id), 403)
    assert_error_shape(place(client, admin_headers, (slipper.id, 1), user_id=user.id), 403)
    assert_error_shape(place(client, user_headers, (slipper.id, 1), user_id="me"), 422)
    assert order_count() == 1 and stock_of(slipper.id) == 9


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"items": []},
        {"items": None},
        {"items": "lots"},
        {"items": {"slipper_id": 1, "quantity": 1}},
        {"items": [1, 2]},
        {"items": [{"slipper_id": 1}]},
        {"items": [{"quantity": 1}]},
        {"items": [{"slipper_id": "1", "quantity": 1}]},
        {"items": [{"slipper_id": -5, "quantity": 1}]},
        {"items": [{"slipper_id": 2**31, "quantity": 1}]},
        {"items": [{"slipper_id": 1.0, "quantity": 1}]},
        {"items": [{"slipper_id": 1, "quantity": 1}], "notes": "x" * 1001},
        {"items": [{"slipper_id": 1, "quantity": 1}], "notes": "nul\x00byte"},
        {"items": [{"slipper_id": 1, "quantity": 1}], "notes": 5},
        [{"slipper_id": 1, "quantity": 1}],
        "order",
        None,
    ],
)
def test_hostile_bodies_are_4xx(client, user_headers, make_slipper, payload):
    make_slipper()
    response = client.post("/orders/", json=payload, headers=user_headers)
    assert 400 <= response.status_code < 500
    assert_error_shape(response, response.status_code)
    assert order_count() == 0


def test_line_count_limits(client, user_headers, make_slipper):
    slippers = [make_slipper(quantity=5) for _ in range(51)]
    too_many = place(client, user_headers, *[(s.id, 1) for s in slippers])
    assert_error_shape(too_many, 422)
    fifty = place(client, user_headers, *[(s.id, 1) for s in slippers[:50]])
    assert fifty.status_code == 201 and len(fifty.get_json()["items"]) == 50


def test_unicode_notes_kept(client, user_headers, make_slipper):
    slipper = make_slipper()
    notes = "Тошкент, Чиланзар 🥿\nkv. 5"
    assert place(client, user_headers, (slipper.id, 1), notes=notes).get_json()["notes"] == notes


def test_unknown_and_removed_slippers_are_422(client, user_headers, make_slipper):
    ok = make_slipper()
    gone = make_slipper(deleted_at=datetime.now(UTC))
    unknown = assert_error_shape(place(client, user_headers, (ok.id, 1), (987654, 1)), 422)
    assert "987654" in unknown["message"]
    assert_error_shape(place(client, user_headers, (gone.id, 1)), 422)
    assert stock_of(ok.id) == 10 and order_count() == 0


def test_not_enough_stock_is_409_and_nothing_is_written(client, user_headers, make_slipper):
    plenty = make_slipper("Plenty", quantity=10)
    scarce = make_slipper("Scarce", quantity=2)
    body = assert_error_shape(place(client, user_headers, (plenty.id, 4), (scarce.id, 3)), 409)
    assert "Scarce" in body["message"] and "2 left" in body["message"]
    assert body["errors"] == {"slipper_id": scarce.id, "available": 2}
    assert stock_of(plenty.id) == 10 and stock_of(scarce.id) == 2
    assert order_count() == 0
    assert db.session.execute(select(func.count()).select_from(OrderItem)).scalar_one() == 0
    ok = place(client, user_headers, (scarce.id, 2))
    assert ok.status_code == 201 and stock_of(scarce.id) == 0
    assert_error_shape(place(client, user_headers, (scarce.id, 1)), 409)


def test_total_beyond_the_money_column_is_422(client, user_headers, make_slipper):
    dear = make_slipper(price="9999999999.99")
    assert_error_shape(place(client, user_headers, (dear.id, 2)), 422)
    assert stock_of(dear.id) == 10


def test_creation_is_recorded_in_history(client, user, user_headers, make_slipper):
    slipper = make_slipper()
    order_id = place(client, user_headers, (slipper.id, 1)).get_json()["id"]
    rows = db.session.execute(
        select(OrderStatusChange).where(OrderStatusChange.order_id == order_id)
    ).scalars()
    assert [(r.from_status, r.to_status, r.changed_by_user_id) for r in rows] == [
        (None, "pending", user.id)
    ]


def test_needs_login(client, make_slipper):
    slipper = make_slipper()
    assert_error_shape(place(client, {}, (slipper.id, 1)), 401)
    assert_error_shape(client.post("/orders/from-cart"), 401)


def test_from_cart_orders_and_empties_the_cart(client, user_headers, make_slipper):
    a, b = make_slipper(price="0.10"), make_slipper(price="3.00")
    client.post("/cart/items", json={"slipper_id": a.id, "quantity": 3}, headers=user_headers)
    client.post("/cart/items", json={"slipper_id": b.id, "quantity": 1}, headers=user_headers)
    response = client.post("/orders/from-cart", json={"notes": "gift"}, headers=user_headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["total_amount"] == "3.30" and body["notes"] == "gift"
    assert [(i["slipper_id"], i["quantity"]) for i in body["items"]] == [(a.id, 3), (b.id, 1)]
    assert client.get("/cart", headers=user_headers).get_json()["items"] == []
    assert stock_of(a.id) == 7 and stock_of(b.id) == 9
    assert_error_shape(client.post("/orders/from-cart", headers=user_headers), 409)


def test_from_cart_empty_is_409(client, user_headers):
    assert_error_shape(client.post("/orders/from-cart", headers=user_headers), 409)
    assert_error_shape(client.post("/orders/from-cart/", json={}, headers=user_headers), 409)


def test_from_cart_refuses_prices_in_the_body(client, user_headers, make_slipper):
    slipper = make_slipper()
    client.post("/cart/items", json={"slipper_id": slipper.id, "quantity": 1}, headers=user_headers)
    body = {"total_amount": "0.01"}
    assert_error_shape(client.post("/orders/from-cart", json=body, headers=user_headers), 422)
    assert len(client.get("/cart", headers=user_headers).get_json()["items"]) == 1


def test_from_cart_short_of_stock_keeps_the_cart(client, user_headers, make_slipper):
    slipper = make_slipper("Rare", quantity=2)
    client.post("/cart/items", json={"slipper_id": slipper.id, "quantity": 3}, headers=user_headers)
    body = assert_error_shape(client.post("/orders/from-cart", headers=user_headers), 409)
    assert "Rare" in body["message"]
    assert client.get("/cart", headers=user_headers).get_json()["total_quantity"] == 3
    assert stock_of(slipper.id) == 2 and order_count() == 0


def test_from_cart_skips_removed_slippers(client, user_headers, make_slipper):
    kept, removed = make_slipper(), make_slipper()
    for slipper in (kept, removed):
        client.post(
            "/cart/items", json={"slipper_id": slipper.id, "quantity": 1}, headers=user_headers
        )
    removed.deleted_at = datetime.now(UTC)
    db.session.commit()
    body = client.post("/orders/from-cart", headers=user_headers).get_json()
    assert [i["slipper_id"] for i in body["items"]] == [kept.id]
    assert stock_of(removed.id) == 10


def test_from_cart_of_only_removed_slippers_is_empty(client, user_headers, make_slipper):
    removed = make_slipper()
    client.post("/cart/items", json={"slipper_id": removed.id, "quantity": 1}, headers=user_headers)
    removed.deleted_at = datetime.now(UTC)
    db.session.commit()
    assert_error_shape(client.post("/orders/from-cart", headers=user_headers), 409)


def test_committed_stock_change_refreshes_the_catalog(client, user_headers, make_slipper):
    slipper = make_slipper(quantity=3)
    in_stock = lambda: client.get("/slippers/?in_stock=true").get_json()["items"]  # noqa: E731
    assert [item["id"] for item in in_stock()] == [slipper.id]  # now cached
    assert_error_shape(place(client, user_headers, (slipper.id, 4)), 409)
    assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 3
    place(client, user_headers, (slipper.id, 3))
    assert in_stock() == []
    assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 0


def test_from_cart_with_more_lines_than_an_order_takes_is_422(
    app, client, user_headers, make_slipper, monkeypatch
):
    for slipper in (make_slipper(), make_slipper(), make_slipper()):
        client.post(
            "/cart/items", json={"slipper_id": slipper.id, "quantity": 1}, headers=user_headers
        )
    monkeypatch.setitem(app.config, "ORDER_MAX_LINES", 2)
    assert_error_shape(client.post("/orders/from-cart", headers=user_headers), 422)
    assert client.get("/cart", headers=user_headers).get_json()["total_quantity"] == 3
    assert order_count() == 0
