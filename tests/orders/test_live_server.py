"""Real parallel requests against gunicorn (several workers) on PostgreSQL.

Each round releases all buyers at once (a barrier) so that their requests really overlap.
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import partial

import pytest
import requests
from sqlalchemy import func, select

from slippers.cart.models import Cart
from slippers.catalog.models import Slipper
from slippers.extensions import db
from slippers.orders.models import Order, OrderItem, OrderStatusChange
from tests.live_server import all_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.live_server_only, pytest.mark.slow]

ROUNDS = 5
CLOSE = {"Connection": "close"}  # a new connection per read: any worker may answer


def new_slippers(live_app, *stocks: int) -> list[int]:
    with live_app.app_context():
        rows = [
            Slipper(name=f"Live {n}", size="42", price=Decimal("10.00"), quantity=stock)
            for n, stock in enumerate(stocks)
        ]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def stock(live_app, slipper_id: int) -> int:
    with live_app.app_context():
        return db.session.execute(
            select(Slipper.quantity).where(Slipper.id == slipper_id)
        ).scalar_one()


def ordered_quantity(live_app, slipper_id: int) -> int:
    with live_app.app_context():
        return db.session.execute(
            select(func.coalesce(func.sum(OrderItem.quantity), 0))
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.slipper_id == slipper_id, Order.status != "cancelled")
        ).scalar_one()


def buy(session, base, lines, **headers):
    items = [{"slipper_id": sid, "quantity": qty} for sid, qty in lines]
    return partial(
        session.post, f"{base}/orders/", json={"items": items}, headers=headers, timeout=30
    )


def assert_no_server_errors(responses):
    bad = [(r.status_code, r.text[:200]) for r in responses if r.status_code >= 500]
    assert not bad, bad


def test_thirty_buyers_five_pairs(live_app, live_server, live_buyers):
    for _ in range(ROUNDS):
        (slipper_id,) = new_slippers(live_app, 5)
        responses = all_at_once([buy(s, live_server, [(slipper_id, 1)]) for s in live_buyers])
        assert_no_server_errors(responses)
        codes = sorted(r.status_code for r in responses)
        assert codes == [201] * 5 + [409] * 25
        for refused in (r for r in responses if r.status_code == 409):
            assert f"id {slipper_id}" in refused.json()["message"]
        assert stock(live_app, slipper_id) == 0
        assert ordered_quantity(live_app, slipper_id) == 5


def test_crossed_baskets_do_not_deadlock(live_app, live_server, live_buyers):
    for _ in range(ROUNDS):
        a, b = new_slippers(live_app, 20, 20)
        calls = [
            buy(s, live_server, [(a, 1), (b, 1)] if n % 2 else [(b, 1), (a, 1)])
            for n, s in enumerate(live_buyers)
        ]
        responses = all_at_once(calls)
        assert_no_server_errors(responses)
        codes = sorted(r.status_code for r in responses)
        assert codes == [201] * 20 + [409] * 10
        assert not any("deadlock" in r.text.lower() for r in responses)
        for slipper_id in (a, b):
            assert stock(live_app, slipper_id) == 0
            assert ordered_quantity(live_app, slipper_id) == 20


def test_concurrent_cancels_and_deletes_return_stock_once(live_app, live_server, live_buyers):
    owner = live_buyers[0]
    for _ in range(ROUNDS):
        (slipper_id,) = new_slippers(live_app, 10)
        order = owner.post(
            f"{live_server}/orders/",
            json={"items": [{"slipper_id": slipper_id, "quantity": 3}]},
            timeout=30,
        ).json()
        url = f"{live_server}/orders/{order['id']}"
        cancel = partial(owner.patch, url, json={"status": "cancelled"}, timeout=30)
        remove = partial(owner.delete, url, timeout=30)
        responses = all_at_once([cancel, remove] * 5)
        assert_no_server_errors(responses)
        assert {r.status_code for r in responses} <= {200, 204, 404, 409}
        assert stock(live_app, slipper_id) == 10
        with live_app.app_context():
            cancels = db.session.execute(
                select(func.count())
                .select_from(OrderStatusChange)
                .where(
                    OrderStatusChange.order_id == order["id"],
                    OrderStatusChange.to_status == "cancelled",
                )
            ).scalar_one()
        assert cancels <= 1  # zero when the order row (and its history) was deleted


def test_same_idempotency_key_at_once_places_one_order(live_app, live_server, live_buyers):
    buyer = live_buyers[1]
    for round_no in range(ROUNDS):
        (slipper_id,) = new_slippers(live_app, 100)
        key = f"live-{slipper_id}-{round_no}"
        responses = all_at_once(
            [buy(buyer, live_server, [(slipper_id, 2)], **{"Idempotency-Key": key})] * 10
        )
        assert_no_server_errors(responses)
        assert {r.status_code for r in responses} <= {201, 409}
        created = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(created) == 1
        assert stock(live_app, slipper_id) == 98


def test_concurrent_cart_adds_make_one_cart_and_one_bounded_line(
    live_app, live_server, live_buyers
):
    for round_no in range(ROUNDS):
        buyer = live_buyers[2 + round_no]  # a user with no cart yet: creation races too
        (slipper_id,) = new_slippers(live_app, 10)
        body = {"slipper_id": slipper_id, "quantity": 6}
        add = partial(buyer.post, f"{live_server}/cart/items", json=body, timeout=30)
        responses = all_at_once([add] * 10)
        assert_no_server_errors(responses)
        assert sorted(r.status_code for r in responses) == [201] * 8 + [422] * 2
        lines = buyer.get(f"{live_server}/cart", timeout=30).json()["items"]
        assert [(line["slipper_id"], line["quantity"]) for line in lines] == [(slipper_id, 48)]
        user_id = buyer.get(f"{live_server}/auth/me", timeout=30).json()["id"]
        with live_app.app_context():
            carts = db.session.execute(
                select(func.count()).select_from(Cart).where(Cart.user_id == user_id)
            ).scalar_one()
        assert carts == 1


def test_an_order_on_one_worker_is_seen_by_every_worker(live_app, live_server, live_buyers):
    """The catalog cache is shared through Redis: stock stamps renewed by the worker that
    took the order make every worker's cached detail and list answer fresh."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("freshness across workers needs the shared cache: set REDIS_URL (CI does)")
    (slipper_id,) = new_slippers(live_app, 10)
    paths = [f"/slippers/{slipper_id}", "/slippers/?q=live&sort=-created_at&page_size=100"]

    def quantities() -> list[int]:
        reads = all_at_once(
            [
                partial(requests.get, f"{live_server}{path}", headers=CLOSE, timeout=30)
                for path in paths
                for _ in range(8)
            ]
        )
        assert_no_server_errors(reads)
        found = []
        for read in reads:
            body = read.json()
            items = body.get("items", [body])
            found += [item["quantity"] for item in items if item["id"] == slipper_id]
        return found

    assert quantities() == [10] * 16  # now cached, in Redis, for every worker
    for round_ in range(3):
        placed = buy(live_buyers[round_], live_server, [(slipper_id, 2)])()
        assert placed.status_code == 201, placed.text
        assert quantities() == [10 - 2 * (round_ + 1)] * 16
