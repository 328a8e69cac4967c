"""Two `flask orders expire` runs at once (two hosts): stock comes back exactly once.

Each thread has its own app context, so its own session and database connection. On
PostgreSQL the runs skip each other's locked rows (FOR UPDATE SKIP LOCKED); on SQLite
`BEGIN IMMEDIATE` serialises them.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from slippers.auth.models import User
from slippers.catalog.models import Slipper
from slippers.extensions import db
from slippers.orders.models import Order, OrderItem, OrderStatusChange
from slippers.orders.service import expire_pending_orders
from slippers.orders.states import record_status_change

pytestmark = [pytest.mark.live_server_only]

ORDERS = 120


def seed_pending_orders(live_app) -> tuple[int, list[int]]:
    """A slipper with 1000 pairs of which ORDERS pending orders hold 2 each."""
    with live_app.app_context():
        name = f"expiry_{uuid.uuid4().hex[:8]}"
        user = User(username=name, username_key=name, password_hash="!", is_active=True)
        slipper = Slipper(name="Expiring", size="40", price=Decimal("3.00"), quantity=1000)
        db.session.add_all([user, slipper])
        db.session.flush()
        orders = [
            Order(
                user_id=user.id,
                status="pending",
                total_amount=Decimal("6.00"),
                currency="UZS",
                items=[
                    OrderItem(
                        slipper_id=slipper.id,
                        name="Expiring",
                        size="40",
                        unit_price=Decimal("3.00"),
                        quantity=2,
                        line_total=Decimal("6.00"),
                    )
                ],
            )
            for _ in range(ORDERS)
        ]
        db.session.add_all(orders)
        slipper.quantity -= 2 * ORDERS
        db.session.flush()
        for order in orders:
            record_status_change(order.id, None, "pending", user.id, "placed")
        db.session.commit()
        return slipper.id, [order.id for order in orders]


def test_overlapping_expiry_runs_return_stock_once(live_app, monkeypatch):
    monkeypatch.setattr("slippers.orders.service.EXPIRY_BATCH", 7)
    slipper_id, order_ids = seed_pending_orders(live_app)
    with live_app.app_context():
        pending_before = db.session.execute(
            select(func.count()).select_from(Order).where(Order.status == "pending")
        ).scalar_one()
    barrier = threading.Barrier(2)

    def run() -> int:
        with live_app.app_context():
            barrier.wait(timeout=30)
            try:
                return expire_pending_orders(0)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(lambda _: run(), range(2)))

    assert sum(counts) == pending_before
    with live_app.app_context():
        assert db.session.get(Slipper, slipper_id).quantity == 1000
        statuses = db.session.execute(
            select(Order.status).where(Order.id.in_(order_ids)).distinct()
        ).scalars()
        assert list(statuses) == ["cancelled"]
        cancels = db.session.execute(
            select(OrderStatusChange.order_id, func.count())
            .where(OrderStatusChange.order_id.in_(order_ids))
            .where(OrderStatusChange.to_status == "cancelled")
            .group_by(OrderStatusChange.order_id)
        ).all()
        assert len(cancels) == ORDERS and all(count == 1 for _, count in cancels)
        assert expire_pending_orders(0) == 0
        db.session.remove()
