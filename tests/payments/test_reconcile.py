"""Reconciliation: a lost callback is applied exactly once; expired and unknown ones close."""

from __future__ import annotations

from datetime import timedelta

import pytest

from slippers.extensions import db
from slippers.payments.service import reconcile_open_payments
from tests.payments.helpers import (
    create_payment,
    events,
    history,
    order_row,
    payment_row,
    place_order,
)


@pytest.fixture
def opened(client, octo, user_headers, slipper):
    order = place_order(client, user_headers, [(slipper, 1)])
    return order, create_payment(client, user_headers, order["id"])


def age(payment_id: int, minutes: int) -> None:
    payment = payment_row(payment_id)
    payment.created_at = payment.created_at - timedelta(minutes=minutes)
    db.session.commit()


def test_a_missed_success_is_applied_once(client, octo, opened):
    order, created = opened
    octo.set_status(created["octo_payment_UUID"], "succeeded")  # no callback sent
    assert octo.callbacks() == []
    summary = reconcile_open_payments(0)
    assert summary.startswith("Checked 1 open payment(s): 1 paid")
    assert payment_row(created["payment_id"]).status == "PAID"
    assert order_row(order["id"]).status == "confirmed"
    event = events(created["payment_id"])[-1]
    assert (event.source, event.outcome, event.octo_status) == ("reconcile", "applied", "succeeded")
    assert reconcile_open_payments(0).startswith("Checked 0 open payment(s)")
    assert [h[1] for h in history(order["id"])].count("confirmed") == 1
    assert payment_row(created["payment_id"]).reconcile_claimed_until is None


def test_recent_payments_wait_for_the_delay(client, octo, opened):
    _order, created = opened
    octo.set_status(created["octo_payment_UUID"], "succeeded")
    assert reconcile_open_payments(5).startswith("Checked 0 open payment(s)")
    assert payment_row(created["payment_id"]).status == "CREATED"
    age(created["payment_id"], 6)
    assert reconcile_open_payments(5).startswith("Checked 1 open payment(s): 1 paid")


@pytest.mark.parametrize(
    ("octo_status", "status"), [("failed", "FAILED"), ("canceled", "CANCELLED")]
)
def test_a_missed_failure_closes_the_payment(client, octo, opened, octo_status, status):
    order, created = opened
    octo.set_status(created["octo_payment_UUID"], octo_status)
    reconcile_open_payments(0)
    assert payment_row(created["payment_id"]).status == status
    assert order_row(order["id"]).status == "pending"


@pytest.mark.parametrize("octo_status", ["created", "wait_user_action"])
def test_past_octo_ttl_and_unpaid_is_cancelled(client, octo, opened, octo_status):
    order, created = opened
    octo.set_status(created["octo_payment_UUID"], octo_status)
    assert "0 cancelled" in reconcile_open_payments(0)  # still within OCTO_TTL_MINUTES
    assert payment_row(created["payment_id"]).status in ("CREATED", "PENDING")
    age(created["payment_id"], 16)
    assert "1 cancelled" in reconcile_open_payments(0)
    payment = payment_row(created["payment_id"])
    assert payment.status == "CANCELLED" and "OCTO_TTL_MINUTES" in payment.last_error
    assert events(payment.id)[-1].outcome == "expired"
    assert order_row(order["id"]).status == "pending"


def test_a_hold_is_not_closed_by_the_ttl(client, octo, opened):
    _order, created = opened
    octo.set_status(created["octo_payment_UUID"], "waiting_for_capture")
    age(created["payment_id"], 60)
    reconcile_open_payments(0)
    assert payment_row(created["payment_id"]).status == "PENDING"


def test_a_payment_octo_never_saw_is_cancelled(client, octo, user_headers, slipper):
    order = place_order(client, user_headers, [(slipper, 1)])
    octo.fault("error", error_code=2)
    failed = client.post(
        "/payments/octo/create", json={"orderId": order["id"]}, headers=user_headers
    )
    assert failed.status_code == 502
    assert "1 cancelled" in reconcile_open_payments(0)
    (event,) = [e for e in events() if e.outcome == "unknown_to_octo"]
    assert payment_row(event.payment_id).status == "CANCELLED"
    assert create_payment(client, user_headers, order["id"])["payment_id"] != event.payment_id


def test_gateway_trouble_leaves_the_payment_open(client, octo, opened):
    _order, created = opened
    octo.fault("http500", count=5)
    assert "1 error" in reconcile_open_payments(0)
    payment = payment_row(created["payment_id"])
    assert payment.status == "CREATED" and "HTTP 500" in payment.last_error
    assert payment.reconcile_claimed_until is None


def test_the_command_line(app, client, octo, opened):
    _order, created = opened
    octo.set_status(created["octo_payment_UUID"], "succeeded")
    result = app.test_cli_runner().invoke(args=["payments", "reconcile", "--after-minutes", "0"])
    assert result.exit_code == 0, result.output
    assert "Checked 1 open payment(s): 1 paid" in result.output
    assert payment_row(created["payment_id"]).status == "PAID"
