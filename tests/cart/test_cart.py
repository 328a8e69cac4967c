"""The cart: one per user, one line per slipper, live prices, bounded quantities."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from slippers.cart.models import Cart, CartItem
from slippers.extensions import db
from tests.conftest import assert_error_shape

EMPTY = {"items": [], "total_quantity": 0, "total_amount": "0.00"}


def add(client, headers, slipper_id, quantity):
    return client.post(
        "/cart/items", json={"slipper_id": slipper_id, "quantity": quantity}, headers=headers
    )


def test_cart_needs_login(client):
    for method, path in [
        ("get", "/cart"),
        ("delete", "/cart"),
        ("post", "/cart/items"),
        ("patch", "/cart/items/1"),
        ("delete", "/cart/items/1"),
    ]:
        assert_error_shape(getattr(client, method)(path, json={}), 401)


def test_empty_cart_without_creating_one(client, user, user_headers):
    for path in ("/cart", "/cart/"):
        response = client.get(path, headers=user_headers)
        assert response.status_code == 200
        assert response.get_json() == EMPTY
    assert db.session.execute(select(func.count()).select_from(Cart)).scalar_one() == 0


def test_add_merges_lines_and_prices_exactly(client, user_headers, make_slipper):
    cheap = make_slipper("Cheap", price="0.10", size="40")
    other = make_slipper("Other", price="19.99")
    first = add(client, user_headers, cheap.id, 1)
    assert first.status_code == 201
    add(client, user_headers, other.id, 2)
    body = add(client, user_headers, cheap.id, 2).get_json()
    assert body["total_quantity"] == 5
    assert body["total_amount"] == "40.28"  # 0.30 + 39.98, exact
    line = body["items"][0]
    assert line == {
        "id": line["id"],
        "slipper_id": cheap.id,
        "name": "Cheap",
        "size": "40",
        "unit_price": "0.10",
        "quantity": 3,
        "line_total": "0.30",
    }
    assert [item["slipper_id"] for item in body["items"]] == [cheap.id, other.id]
    lines = db.session.execute(select(func.count()).select_from(CartItem)).scalar_one()
    assert lines == 2


def test_cart_is_priced_at_todays_price(client, user_headers, make_slipper):
    slipper = make_slipper(price="10.00")
    add(client, user_headers, slipper.id, 2)
    slipper.price = Decimal("12.50")
    db.session.commit()
    body = client.get("/cart", headers=user_headers).get_json()
    assert body["items"][0]["unit_price"] == "12.50"
    assert body["total_amount"] == "25.00"


@pytest.mark.parametrize("quantity", [0, -1, 51, 10**9, "3", 2.5, True, None, [1], {"n": 1}])
def test_bad_quantities_are_422(client, user_headers, make_slipper, quantity):
    slipper = make_slipper()
    body = assert_error_shape(add(client, user_headers, slipper.id, quantity), 422)
    assert "quantity" in body["errors"]
    assert client.get("/cart", headers=user_headers).get_json() == EMPTY


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"quantity": 1},
        {"slipper_id": "1", "quantity": 1},
        {"slipper_id": 0, "quantity": 1},
        {"slipper_id": 2**31, "quantity": 1},
        {"slipper_id": 1, "quantity": 1, "price": "0.01"},
        {"slipper_id": 1, "quantity": 1, "unit_price": 0},
    ],
)
def test_hostile_add_bodies_are_422(client, user_headers, make_slipper, payload):
    make_slipper()
    assert_error_shape(client.post("/cart/items", json=payload, headers=user_headers), 422)


def test_non_json_body_is_4xx(client, user_headers):
    response = client.post(
        "/cart/items",
        data="{not json",
        headers={**user_headers, "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500
    assert_error_shape(response, response.status_code)


def test_unknown_or_removed_slipper_cannot_be_added(client, user_headers, make_slipper):
    gone = make_slipper(deleted_at=datetime.now(UTC))
    body = assert_error_shape(add(client, user_headers, 999999, 1), 422)
    assert "slipper_id" in body["errors"]
    assert_error_shape(add(client, user_headers, gone.id, 1), 422)


def test_merged_quantity_above_the_limit_is_422_and_keeps_the_line(
    client, user_headers, make_slipper
):
    slipper = make_slipper()
    add(client, user_headers, slipper.id, 30)
    assert_error_shape(add(client, user_headers, slipper.id, 21), 422)
    assert client.get("/cart", headers=user_headers).get_json()["items"][0]["quantity"] == 30
    assert add(client, user_headers, slipper.id, 20).get_json()["items"][0]["quantity"] == 50


def test_line_count_is_bounded(app, client, user_headers, make_slipper, monkeypatch):
    monkeypatch.setitem(app.config, "ORDER_MAX_LINES", 2)
    first, second, third = (make_slipper() for _ in range(3))
    add(client, user_headers, first.id, 1)
    add(client, user_headers, second.id, 1)
    assert_error_shape(add(client, user_headers, third.id, 1), 422)
    assert add(client, user_headers, second.id, 1).status_code == 201  # merging still works


def test_patch_sets_and_zero_removes(client, user_headers, make_slipper):
    slipper = make_slipper(price="2.00")
    item_id = add(client, user_headers, slipper.id, 1).get_json()["items"][0]["id"]
    body = client.patch(f"/cart/items/{item_id}", json={"quantity": 7}, headers=user_headers)
    assert body.status_code == 200
    assert body.get_json()["total_amount"] == "14.00"
    for bad in (-1, 51, "2", 1.5, False):
        response = client.patch(
            f"/cart/items/{item_id}", json={"quantity": bad}, headers=user_headers
        )
        assert_error_shape(response, 422)
    removed = client.patch(f"/cart/items/{item_id}", json={"quantity": 0}, headers=user_headers)
    assert removed.get_json() == EMPTY
    gone = client.patch(f"/cart/items/{item_id}", json={"quantity": 1}, headers=user_headers)
    assert_error_shape(gone, 404)


def test_delete_line_and_clear(client, user_headers, make_slipper):
    one, two = make_slipper(), make_slipper()
    add(client, user_headers, one.id, 1)
    item_id = add(client, user_headers, two.id, 1).get_json()["items"][1]["id"]
    left = client.delete(f"/cart/items/{item_id}", headers=user_headers)
    assert [item["slipper_id"] for item in left.get_json()["items"]] == [one.id]
    assert_error_shape(client.delete(f"/cart/items/{item_id}", headers=user_headers), 404)
    cleared = client.delete("/cart", headers=user_headers)
    assert cleared.status_code == 200 and cleared.get_json() == EMPTY
    assert client.delete("/cart/", headers=user_headers).get_json() == EMPTY


def test_another_users_line_is_404_and_untouched(client, user_headers, other_headers, make_slipper):
    slipper = make_slipper()
    item_id = add(client, user_headers, slipper.id, 3).get_json()["items"][0]["id"]
    patch = client.patch(f"/cart/items/{item_id}", json={"quantity": 1}, headers=other_headers)
    assert_error_shape(patch, 404)
    assert_error_shape(client.delete(f"/cart/items/{item_id}", headers=other_headers), 404)
    assert client.delete("/cart", headers=other_headers).get_json() == EMPTY
    assert client.get("/cart", headers=other_headers).get_json() == EMPTY
    mine = client.get("/cart", headers=user_headers).get_json()
    assert mine["items"][0]["quantity"] == 3


def test_huge_item_id_is_404(client, user_headers):
    assert_error_shape(client.delete("/cart/items/99999999999999999999", headers=user_headers), 404)


def test_removed_slipper_disappears_from_the_cart(client, user_headers, make_slipper):
    kept, removed = make_slipper(price="1.00"), make_slipper(price="5.00")
    add(client, user_headers, kept.id, 1)
    item_id = add(client, user_headers, removed.id, 2).get_json()["items"][1]["id"]
    removed.deleted_at = datetime.now(UTC)
    db.session.commit()
    body = client.get("/cart", headers=user_headers).get_json()
    assert [item["slipper_id"] for item in body["items"]] == [kept.id]
    assert body["total_amount"] == "1.00" and body["total_quantity"] == 1
    patch = client.patch(f"/cart/items/{item_id}", json={"quantity": 1}, headers=user_headers)
    assert_error_shape(patch, 404)


def test_one_cart_per_user(client, user, user_headers, other_headers, make_slipper):
    slipper = make_slipper()
    for _ in range(3):
        add(client, user_headers, slipper.id, 1)
    add(client, other_headers, slipper.id, 1)
    carts = db.session.execute(select(Cart.user_id)).scalars().all()
    assert sorted(carts).count(user.id) == 1 and len(carts) == 2


def test_cart_view_is_one_query(client, user_headers, make_slipper, count_statements):
    slippers = [make_slipper() for _ in range(5)]
    add(client, user_headers, slippers[0].id, 1)
    with count_statements() as few:
        client.get("/cart", headers=user_headers)
    for slipper in slippers[1:]:
        add(client, user_headers, slipper.id, 1)
    with count_statements() as many:
        body = client.get("/cart", headers=user_headers).get_json()
    assert len(body["items"]) == 5
    assert 0 < len(many) == len(few)
