"""Slipper create / read / replace / change / soft delete, and hostile bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from slippers.catalog.models import Slipper
from slippers.extensions import db
from slippers.orders.models import Order, OrderItem
from tests.conftest import assert_error_shape

SLIPPER_FIELDS = {
    "id",
    "name",
    "description",
    "size",
    "price",
    "quantity",
    "in_stock",
    "category_id",
    "category_name",
    "primary_image_url",
    "created_at",
    "updated_at",
}


@pytest.fixture
def body(category):
    return {
        "name": "Fergana Felt",
        "size": "41",
        "price": "259000.00",
        "quantity": 7,
        "category_id": category.id,
        "description": "Hand-felted wool",
    }


def _slipper_count() -> int:
    return db.session.execute(select(func.count()).select_from(Slipper)).scalar_one()


def test_create_answers_the_slipper(client, admin_headers, body):
    response = client.post("/slippers/", json=body, headers=admin_headers)
    assert response.status_code == 201
    created = response.get_json()
    assert set(created) == SLIPPER_FIELDS | {"images"}
    assert created["name"] == "Fergana Felt"
    assert created["price"] == "259000.00"
    assert created["quantity"] == 7
    assert created["in_stock"] is True
    assert created["category_name"] == "House"
    assert created["primary_image_url"] is None
    assert created["images"] == []
    assert datetime.fromisoformat(created["created_at"]).utcoffset().total_seconds() == 0
    detail = client.get(f"/slippers/{created['id']}").get_json()
    assert detail == created


@pytest.mark.parametrize(
    ("price", "stored"),
    [(189000, "189000.00"), (19.99, "19.99"), ("0.5", "0.50"), ("0", "0.00"), (" 12.30 ", "12.30")],
)
def test_money_is_exact(client, admin_headers, body, price, stored):
    response = client.post("/slippers/", json={**body, "price": price}, headers=admin_headers)
    assert response.status_code == 201
    assert response.get_json()["price"] == stored
    row = db.session.get(Slipper, response.get_json()["id"])
    assert row.price == Decimal(stored)


def test_sold_out_is_not_in_stock(client, admin_headers, body):
    created = client.post("/slippers/", json={**body, "quantity": 0}, headers=admin_headers)
    assert created.get_json()["in_stock"] is False


@pytest.mark.parametrize(
    "changes",
    [
        {"price": -1},
        {"price": "-0.01"},
        {"price": 10**20},
        {"price": "1e30"},
        {"price": "NaN"},
        {"price": "Infinity"},
        {"price": "12.345"},
        {"price": "abc"},
        {"price": True},
        {"price": None},
        {"price": [1]},
        {"quantity": -1},
        {"quantity": "5"},
        {"quantity": 1.5},
        {"quantity": 10**20},
        {"quantity": None},
        {"category_id": "abc"},
        {"category_id": 0},
        {"category_id": 10**20},
        {"category_id": 999999},
        {"category_id": None},
        {"name": ""},
        {"name": "x" * 201},
        {"name": "x" * 100_000},
        {"name": "nul\x00byte"},
        {"name": "\ud800"},
        {"name": 5},
        {"description": "d" * 5001},
        {"description": "bell\x07"},
        {"size": ""},
        {"size": "x" * 17},
        {"size": "<script>"},
        {"size": 42},
        {"id": 5},
        {"deleted_at": "2024-01-01T00:00:00+00:00"},
        {"in_stock": True},
    ],
)
def test_create_refuses_hostile_bodies(client, admin_headers, body, changes):
    response = client.post("/slippers/", json={**body, **changes}, headers=admin_headers)
    assert_error_shape(response, 422)
    assert _slipper_count() == 0


@pytest.mark.parametrize("missing", ["name", "size", "price", "quantity", "category_id"])
def test_create_requires_fields(client, admin_headers, body, missing):
    body.pop(missing)
    response = client.post("/slippers/", json=body, headers=admin_headers)
    errors = assert_error_shape(response, 422)["errors"]
    assert missing in errors


def test_create_refuses_non_json(client, admin_headers):
    response = client.post(
        "/slippers/", data="name=x", headers=admin_headers, content_type="text/plain"
    )
    assert 400 <= response.status_code < 500
    response = client.post(
        "/slippers/", data="{not json", headers=admin_headers, content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert _slipper_count() == 0


def test_unicode_names_round_trip(client, admin_headers, body):
    name = "Shippak «Ipak yo\u2018li» 👡 Тапочки"
    response = client.post("/slippers/", json={**body, "name": name}, headers=admin_headers)
    assert response.status_code == 201
    assert client.get(f"/slippers/{response.get_json()['id']}").get_json()["name"] == name


def test_patch_changes_only_given_fields(client, admin_headers, slipper):
    response = client.patch(
        f"/slippers/{slipper.id}", json={"price": "199000", "quantity": 0}, headers=admin_headers
    )
    assert response.status_code == 200
    changed = response.get_json()
    assert changed["price"] == "199000.00"
    assert changed["quantity"] == 0
    assert changed["in_stock"] is False
    assert changed["name"] == "Samarkand Velvet"
    assert changed["description"] == "Velvet upper"


def test_put_replaces_the_whole_slipper(client, admin_headers, slipper, make_category):
    beach = make_category("Beach")
    replacement = {
        "name": "Aral Slide",
        "size": "40",
        "price": 89000,
        "quantity": 12,
        "category_id": beach.id,
    }
    response = client.put(f"/slippers/{slipper.id}", json=replacement, headers=admin_headers)
    assert response.status_code == 200
    replaced = response.get_json()
    assert replaced["description"] is None
    assert replaced["category_name"] == "Beach"
    assert (replaced["name"], replaced["size"], replaced["price"]) == (
        "Aral Slide",
        "40",
        "89000.00",
    )
    partial = client.put(f"/slippers/{slipper.id}", json={"name": "X"}, headers=admin_headers)
    assert_error_shape(partial, 422)


@pytest.mark.parametrize(
    "changes",
    [{"category_id": 999999}, {"quantity": -5}, {"price": "-1"}, {"name": None}, {"foo": 1}],
)
def test_patch_refuses_bad_values(client, admin_headers, slipper, changes):
    response = client.patch(f"/slippers/{slipper.id}", json=changes, headers=admin_headers)
    assert_error_shape(response, 422)
    detail = client.get(f"/slippers/{slipper.id}").get_json()
    assert (detail["price"], detail["quantity"]) == ("189000.00", 5)


def test_unknown_slipper_is_404(client, admin_headers):
    assert_error_shape(client.get("/slippers/999999"), 404)
    assert_error_shape(
        client.patch("/slippers/999999", json={"quantity": 1}, headers=admin_headers), 404
    )
    assert_error_shape(client.delete("/slippers/999999", headers=admin_headers), 404)


def test_delete_is_soft_and_hides_the_slipper_everywhere(client, admin_headers, slipper):
    assert client.delete(f"/slippers/{slipper.id}", headers=admin_headers).status_code == 204
    assert_error_shape(client.get(f"/slippers/{slipper.id}"), 404)
    assert_error_shape(client.get(f"/slippers/{slipper.id}/images"), 404)
    assert client.get("/slippers/").get_json()["total"] == 0
    assert client.get(f"/slippers/?q={slipper.name}").get_json()["items"] == []
    assert_error_shape(
        client.patch(f"/slippers/{slipper.id}", json={"quantity": 1}, headers=admin_headers), 404
    )
    assert_error_shape(client.delete(f"/slippers/{slipper.id}", headers=admin_headers), 404)
    row = db.session.execute(select(Slipper.deleted_at).where(Slipper.id == slipper.id)).one()
    assert row.deleted_at is not None


def test_delete_keeps_order_history(client, admin_headers, user, slipper):
    order = Order(user_id=user.id, status="delivered", total_amount=Decimal("378000.00"))
    order.items = [
        OrderItem(
            slipper_id=slipper.id,
            name=slipper.name,
            size=slipper.size,
            unit_price=Decimal("189000.00"),
            quantity=2,
            line_total=Decimal("378000.00"),
        )
    ]
    db.session.add(order)
    db.session.commit()
    client.patch(f"/slippers/{slipper.id}", json={"price": "250000"}, headers=admin_headers)
    assert client.delete(f"/slippers/{slipper.id}", headers=admin_headers).status_code == 204
    item = db.session.execute(
        select(
            OrderItem.slipper_id,
            OrderItem.name,
            OrderItem.size,
            OrderItem.unit_price,
            OrderItem.quantity,
            OrderItem.line_total,
        ).where(OrderItem.order_id == order.id)
    ).one()
    assert tuple(item) == (
        slipper.id,
        "Samarkand Velvet",
        "42",
        Decimal("189000.00"),
        2,
        Decimal("378000.00"),
    )
    assert db.session.get(Order, order.id).total_amount == Decimal("378000.00")


def test_list_detail_and_write_responses_agree(client, admin_headers, body):
    created = client.post("/slippers/", json=body, headers=admin_headers).get_json()
    detail = client.get(f"/slippers/{created['id']}").get_json()
    listed = client.get("/slippers/?include_images=true").get_json()["items"]
    assert detail == created == listed[0]
    plain = client.get("/slippers/").get_json()["items"][0]
    assert set(plain) == SLIPPER_FIELDS
    assert plain == {k: v for k, v in detail.items() if k != "images"}
