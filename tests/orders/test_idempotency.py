"""Idempotency-Key on order creation: replay, mismatch, in flight, per user, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from slippers.db_types import utcnow
from slippers.extensions import db
from slippers.idempotency import request_fingerprint
from slippers.orders.models import IdempotencyRecord, Order
from tests.conftest import assert_error_shape
from tests.orders.fixtures import stock_of


@pytest.fixture
def slipper(make_slipper):
    return make_slipper(quantity=10, price="2.50")


def body_for(slipper, quantity: int = 1) -> dict:
    return {"items": [{"slipper_id": slipper.id, "quantity": quantity}]}


def post(client, headers, key, json, path="/orders/"):
    return client.post(path, json=json, headers={**headers, "Idempotency-Key": key})


def orders() -> int:
    return db.session.execute(select(func.count()).select_from(Order)).scalar_one()


def test_same_key_same_body_replays_and_does_nothing(client, user_headers, slipper):
    first = post(client, user_headers, "order-1", body_for(slipper, 2))
    assert first.status_code == 201 and "Idempotency-Replayed" not in first.headers
    again = post(client, user_headers, "order-1", body_for(slipper, 2))
    assert again.status_code == 201
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert orders() == 1 and stock_of(slipper.id) == 8
    # Key order in the JSON and the trailing slash do not make it another request.
    reordered = {"items": [{"quantity": 2, "slipper_id": slipper.id}]}
    assert post(client, user_headers, "order-1", reordered, "/orders").status_code == 201
    assert orders() == 1


def test_same_key_other_body_is_422(client, user_headers, slipper):
    post(client, user_headers, "k", body_for(slipper, 1))
    assert_error_shape(post(client, user_headers, "k", body_for(slipper, 3)), 422)
    assert_error_shape(post(client, user_headers, "k", {}, "/orders/from-cart"), 422)
    assert orders() == 1 and stock_of(slipper.id) == 9


def test_in_flight_is_409(client, user, user_headers, slipper):
    body = body_for(slipper)
    now = utcnow()
    db.session.add(
        IdempotencyRecord(
            user_id=user.id,
            key="busy",
            method="POST",
            path="/orders",
            request_hash=request_fingerprint("POST", "/orders", body),
            state="in_progress",
            created_at=now,
            expires_at=now + timedelta(hours=24),
        )
    )
    db.session.commit()
    assert_error_shape(post(client, user_headers, "busy", body), 409)
    assert orders() == 0 and stock_of(slipper.id) == 10


def test_keys_are_per_user(client, user_headers, other_headers, slipper):
    mine = post(client, user_headers, "shared", body_for(slipper))
    theirs = post(client, other_headers, "shared", body_for(slipper))
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotency-Replayed" not in theirs.headers
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert stock_of(slipper.id) == 8


def test_expired_record_is_replaced(app, client, user_headers, slipper):
    first = post(client, user_headers, "old", body_for(slipper))
    past = utcnow() - timedelta(seconds=1)
    db.session.execute(update(IdempotencyRecord).values(expires_at=past))
    db.session.commit()
    second = post(client, user_headers, "old", body_for(slipper, 2))
    assert second.status_code == 201 and "Idempotency-Replayed" not in second.headers
    assert second.get_json()["id"] != first.get_json()["id"]
    records = db.session.execute(select(IdempotencyRecord)).scalars().all()
    assert len(records) == 1 and records[0].expires_at > utcnow() + timedelta(hours=23)
    assert stock_of(slipper.id) == 7


def test_errors_are_replayed_too(client, user_headers, slipper):
    """A 4xx is a final answer: the same request gets it again, even if stock came back."""
    short = post(client, user_headers, "big", body_for(slipper, 11))
    assert_error_shape(short, 409)
    slipper.quantity = 50
    db.session.commit()
    again = post(client, user_headers, "big", body_for(slipper, 11))
    assert again.status_code == 409 and again.headers["Idempotency-Replayed"] == "true"
    assert again.get_json() == short.get_json()
    assert orders() == 0
    invalid = post(client, user_headers, "bad", {"items": [{"slipper_id": slipper.id}]})
    assert_error_shape(invalid, 422)
    assert (
        post(client, user_headers, "bad", {"items": [{"slipper_id": slipper.id}]}).headers[
            "Idempotency-Replayed"
        ]
        == "true"
    )


def test_crash_releases_the_key(client, user_headers, slipper, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("slippers.orders.service._write_order", explode)
    crashed = post(client, user_headers, "retry-me", body_for(slipper))
    assert_error_shape(crashed, 500)
    assert db.session.execute(select(func.count()).select_from(IdempotencyRecord)).scalar_one() == 0
    monkeypatch.undo()
    retried = post(client, user_headers, "retry-me", body_for(slipper))
    assert retried.status_code == 201 and "Idempotency-Replayed" not in retried.headers
    assert stock_of(slipper.id) == 9


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "tab\tkey"])
def test_bad_keys_are_422(client, user_headers, slipper, key):
    headers = {**user_headers, "Idempotency-Key": key}
    response = client.post("/orders/", json=body_for(slipper), headers=headers)
    assert_error_shape(response, 422)
    assert orders() == 0


def test_longest_key_and_from_cart(client, user_headers, slipper):
    key = "k" * 255
    client.post("/cart/items", json={"slipper_id": slipper.id, "quantity": 2}, headers=user_headers)
    first = post(client, user_headers, key, None, "/orders/from-cart")
    assert first.status_code == 201
    again = post(client, user_headers, key, None, "/orders/from-cart")
    assert again.headers["Idempotency-Replayed"] == "true" and again.get_json() == first.get_json()
    assert orders() == 1 and stock_of(slipper.id) == 8


def test_without_a_key_nothing_is_recorded(client, user_headers, slipper):
    client.post("/orders/", json=body_for(slipper), headers=user_headers)
    client.post("/orders/", json=body_for(slipper), headers=user_headers)
    assert orders() == 2
    assert db.session.execute(select(func.count()).select_from(IdempotencyRecord)).scalar_one() == 0


def test_header_is_documented(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("/orders/", "/orders/from-cart"):
        params = spec["paths"][path]["post"].get("parameters", [])
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params), path
    assert "409" in spec["paths"]["/orders/"]["post"]["responses"]
