"""A success for an order cancelled meanwhile: stock taken again, or the money goes back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import update

from slippers.catalog.models import Slipper
from slippers.extensions import db
from slippers.orders.service import expire_pending_orders
from slippers.payments.service import reconcile_open_payments
from tests.orders.fixtures import stock_of
from tests.payments.helpers import (
    click,
    create_payment,
    events,
    history,
    order_row,
    payment_row,
    place_order,
    refunds,
)


@pytest.fixture
def abandoned(client, shop, octo, user_headers, slipper):
    """A payment open at OCTO for an order that then expired (its stock went back)."""
    order = place_order(client, user_headers, [(slipper, 3)])
    created = create_payment(client, user_headers, order["id"])
    assert expire_pending_orders(0) == 1
    assert order_row(order["id"]).status == "cancelled"
    assert stock_of(slipper.id) == 10
    return order, created


def test_late_success_takes_the_stock_again_and_confirms(client, octo, abandoned, slipper):
    order, created = abandoned
    assert click(octo, created["octo_payment_UUID"]).status_code == 200
    assert payment_row(created["payment_id"]).status == "PAID"
    assert order_row(order["id"]).status == "confirmed"
    assert history(order["id"])[-2:] == [
        ("pending", "cancelled", "expired"),
        ("cancelled", "confirmed", "late payment"),
    ]
    assert stock_of(slipper.id) == 7
    assert events(created["payment_id"])[-1].outcome == "late_payment_confirmed"
    assert refunds(created["payment_id"]) == []


def test_late_success_without_stock_is_refunded_automatically(client, octo, abandoned, slipper):
    order, created = abandoned
    db.session.execute(update(Slipper).where(Slipper.id == slipper.id).values(quantity=2))
    db.session.commit()
    assert click(octo, created["octo_payment_UUID"]).status_code == 200
    payment = payment_row(created["payment_id"])
    assert payment.status == "REFUNDED" and payment.refunded_amount == Decimal("375001.50")
    assert order_row(order["id"]).status == "cancelled"
    assert stock_of(slipper.id) == 2
    (auto,) = refunds(payment.id)
    assert auto.is_automatic and auto.status == "SUCCEEDED"
    assert auto.reason == "late payment: the order was cancelled and stock is gone"
    assert octo.payment(created["octo_payment_UUID"])["refunded_sum"] == Decimal("375001.50")
    outcomes = [e.outcome for e in events(payment.id)]
    assert outcomes[-2:] == ["refund_scheduled", "refunded"]


def test_a_failed_automatic_refund_is_kept_for_reconciliation(client, octo, abandoned, slipper):
    order, created = abandoned
    db.session.execute(update(Slipper).where(Slipper.id == slipper.id).values(quantity=0))
    db.session.commit()
    octo.fault("http500", count=2, paths=["/refund"])
    assert click(octo, created["octo_payment_UUID"]).status_code == 200
    (callback,) = octo.callbacks()
    assert callback["status_code"] == 200  # OCTO is answered 200 whatever the refund did
    payment = payment_row(created["payment_id"])
    assert payment.status == "PAID" and payment.refunded_amount == Decimal("0.00")
    (auto,) = refunds(payment.id)
    assert auto.status == "FAILED" and "HTTP 500" in auto.last_error
    assert order_row(order["id"]).status == "cancelled"

    summary = reconcile_open_payments(0)
    assert "automatic refunds retried: 1, done: 1" in summary
    assert payment_row(payment.id).status == "REFUNDED"
    assert refunds(payment.id)[0].status == "SUCCEEDED"
