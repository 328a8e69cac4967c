"""Real parallel requests against gunicorn (3 workers) on PostgreSQL, and parallel
reconcile runs: duplicates apply once, refunds never add up to more than was paid."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from sqlalchemy import select, update

from slippers.auth.models import User
from slippers.auth.passwords import hash_password
from slippers.catalog.models import Slipper
from slippers.db_types import utcnow
from slippers.extensions import db
from slippers.octo_sim.callbacks import build_payload
from slippers.orders.models import Order, OrderStatusChange
from slippers.payments.models import Payment, PaymentEvent, Refund
from slippers.payments.octo_protocol import dumps_json
from slippers.payments.service import reconcile_open_payments
from tests.conftest import TEST_PASSWORD
from tests.live_server import all_at_once, bearer_session

pytestmark = [pytest.mark.postgres, pytest.mark.live_server_only, pytest.mark.slow]


def new_session(live, *, admin: bool = False) -> requests.Session:
    """A user made in the live database, logged in through gunicorn (Bearer)."""
    name = f"live_{uuid.uuid4().hex[:10]}"
    with live.app.app_context():
        db.session.add(
            User(
                username=name,
                username_key=name,
                password_hash=hash_password(TEST_PASSWORD),
                is_admin=admin,
            )
        )
        db.session.commit()
    return bearer_session(live.base_url, name, TEST_PASSWORD)


def open_payment(live, buyer: requests.Session, price: str = "100.00") -> dict:
    """A pending order of one new slipper and its payment, opened at OCTO through gunicorn."""
    with live.app.app_context():
        slipper = Slipper(name="Live", size="41", price=Decimal(price), quantity=5)
        db.session.add(slipper)
        db.session.commit()
        slipper_id = slipper.id
    order = buyer.post(
        f"{live.base_url}/orders/", json={"items": [{"slipper_id": slipper_id, "quantity": 1}]}
    )
    assert order.status_code == 201, order.text
    created = buyer.post(
        f"{live.base_url}/payments/octo/create", json={"orderId": order.json()["id"]}
    )
    assert created.status_code == 201, created.text
    return created.json()


def signed(live, payment_uuid: str, status: str) -> bytes:
    payload = build_payload(live.sim.state, live.sim.state.get_payment(payment_uuid), status)
    return dumps_json(payload).encode()


def post_callback(live, body: bytes):
    return lambda: requests.post(
        f"{live.base_url}/payments/octo/notify",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def confirmations(order_id: int) -> int:
    return len(
        db.session.execute(
            select(OrderStatusChange.id).where(
                OrderStatusChange.order_id == order_id, OrderStatusChange.to_status == "confirmed"
            )
        ).all()
    )


def outcomes(payment_id: int, source: str) -> list[str]:
    return list(
        db.session.execute(
            select(PaymentEvent.outcome)
            .where(PaymentEvent.payment_id == payment_id, PaymentEvent.source == source)
            .order_by(PaymentEvent.id)
        ).scalars()
    )


def test_twenty_identical_callbacks_at_once_apply_once(live_shop):
    buyer = new_session(live_shop)
    created = open_payment(live_shop, buyer)
    payment_uuid = created["octo_payment_UUID"]
    live_shop.sim.set_status(payment_uuid, "succeeded")
    body = signed(live_shop, payment_uuid, "succeeded")

    answers = all_at_once([post_callback(live_shop, body) for _ in range(20)])

    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    assert all(a.json() == {"status": "ok"} for a in answers)
    with live_shop.app.app_context():
        payment = db.session.get(Payment, created["payment_id"])
        assert payment.status == "PAID" and payment.paid_at is not None
        assert db.session.get(Order, created["order_id"]).status == "confirmed"
        assert confirmations(created["order_id"]) == 1
        seen = outcomes(payment.id, "callback")
        assert sorted(seen) == ["applied"] + ["duplicate"] * 19
        paid_at = payment.paid_at

    late = post_callback(live_shop, signed(live_shop, payment_uuid, "created"))()
    assert late.status_code == 200
    with live_shop.app.app_context():
        payment = db.session.get(Payment, created["payment_id"])
        assert (payment.status, payment.paid_at) == ("PAID", paid_at)
        assert outcomes(payment.id, "callback")[-1] == "stale"
        assert confirmations(created["order_id"]) == 1


@pytest.mark.parametrize("round_", range(3))
def test_two_refunds_of_sixty_percent_at_once_one_wins(live_shop, round_):
    buyer, admin = new_session(live_shop), new_session(live_shop, admin=True)
    created = open_payment(live_shop, buyer, price="1000.00")
    payment_uuid = created["octo_payment_UUID"]
    live_shop.sim.set_status(payment_uuid, "succeeded")
    assert (
        post_callback(live_shop, signed(live_shop, payment_uuid, "succeeded"))().status_code == 200
    )

    def refund():
        return admin.post(
            f"{live_shop.base_url}/payments/octo/refund",
            json={"octo_payment_UUID": payment_uuid, "amount": "600.00"},
            timeout=30,
        )

    answers = all_at_once([refund, refund])

    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert live_shop.sim.payment(payment_uuid)["refunded_sum"] == Decimal("600.00")
    with live_shop.app.app_context():
        payment = db.session.get(Payment, created["payment_id"])
        assert payment.status == "PAID" and payment.refunded_amount == Decimal("600.00")
        rows = db.session.execute(
            select(Refund.status, Refund.amount).where(Refund.payment_id == payment.id)
        ).all()
        assert rows == [("SUCCEEDED", Decimal("600.00"))]


def test_two_reconcile_runs_at_once_apply_each_payment_once(live_shop, monkeypatch):
    config = live_shop.app.config
    monkeypatch.setitem(config, "OCTO_API_BASE", live_shop.sim.base_url)
    buyer = new_session(live_shop)
    paid = [open_payment(live_shop, buyer) for _ in range(6)]
    expired = open_payment(live_shop, buyer)
    for created in paid:
        live_shop.sim.set_status(created["octo_payment_UUID"], "succeeded")  # callbacks lost
    ids = [created["payment_id"] for created in [*paid, expired]]
    with live_shop.app.app_context():
        db.session.execute(
            update(Payment)
            .where(Payment.id == expired["payment_id"])
            .values(created_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
    checks_before = len(live_shop.sim.recorded("/prepare_payment"))

    def run():
        with live_shop.app.app_context():
            return reconcile_open_payments(0)

    summaries = all_at_once([run, run])

    status_checks = live_shop.sim.recorded("/prepare_payment")[checks_before:]
    checked = [call["json"]["shop_transaction_id"] for call in status_checks]
    with live_shop.app.app_context():
        references = db.session.execute(
            select(Payment.shop_transaction_id).where(Payment.id.in_(ids))
        ).scalars()
        assert sorted(checked) == sorted(references), summaries  # each asked about once
        for created in paid:
            assert db.session.get(Payment, created["payment_id"]).status == "PAID"
            assert confirmations(created["order_id"]) == 1
            assert outcomes(created["payment_id"], "reconcile") == ["applied"]
        assert db.session.get(Payment, expired["payment_id"]).status == "CANCELLED"
        assert outcomes(expired["payment_id"], "reconcile") == ["duplicate", "expired"]
        assert db.session.get(Order, expired["order_id"]).status == "pending"
