"""Helpers of the payment tests (fixtures are in conftest.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests
from sqlalchemy import select

from slippers.extensions import db
from slippers.octo_sim.callbacks import build_payload
from slippers.orders.models import Order, OrderStatusChange
from slippers.payments.models import Payment, PaymentEvent, Refund
from slippers.payments.octo_protocol import dumps_json
from tests.octo_sim_server import SimServer

UNIQUE_KEY = "sim-unique-key"


def settle() -> None:
    """End the test session's transaction before the shop is called back (see above)."""
    db.session.commit()


def place_order(client, headers, lines: list[tuple[Any, int]]) -> dict:
    items = [{"slipper_id": slipper.id, "quantity": qty} for slipper, qty in lines]
    response = client.post("/orders/", json={"items": items}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_payment(client, headers, order_id: int, expect: int = 201, **extra) -> dict:
    response = client.post(
        "/payments/octo/create", json={"orderId": order_id, **extra}, headers=headers
    )
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def open_pay_page(sim: SimServer, pay_url: str) -> str:
    page = sim.http.get(pay_url, timeout=10)
    assert page.status_code == 200
    return page.text


def click(sim: SimServer, payment_uuid: str, action: str = "pay") -> requests.Response:
    """Press a button of the pay page (the sandbox then calls the shop back)."""
    settle()
    return sim.http.post(f"{sim.base_url}/pay/{payment_uuid}/{action}", timeout=30)


def signed_callback(sim: SimServer, payment_uuid: str, status: str, **changes) -> dict:
    """The sandbox's own callback body for this payment and status (correctly signed)."""
    payload = build_payload(sim.state, sim.state.get_payment(payment_uuid), status)
    payload.update(changes)
    return payload


def notify(client, payload) -> Any:
    """POST a callback body (a dict is sent as JSON with exact decimals)."""
    data = dumps_json(payload) if isinstance(payload, dict) else payload
    return client.post(
        "/payments/octo/notify", data=data, headers={"Content-Type": "application/json"}
    )


def fresh(model, row_id):
    return db.session.get(model, row_id, populate_existing=True)


def payment_row(payment_id: int) -> Payment:
    return fresh(Payment, payment_id)


def order_row(order_id: int) -> Order:
    return fresh(Order, order_id)


def history(order_id: int) -> list[tuple[str | None, str, str | None]]:
    rows = db.session.execute(
        select(OrderStatusChange)
        .where(OrderStatusChange.order_id == order_id)
        .order_by(OrderStatusChange.id)
    ).scalars()
    return [(row.from_status, row.to_status, row.reason) for row in rows]


def events(payment_id: int | None = None) -> list[PaymentEvent]:
    stmt = select(PaymentEvent).order_by(PaymentEvent.id)
    if payment_id is not None:
        stmt = stmt.where(PaymentEvent.payment_id == payment_id)
    return list(db.session.execute(stmt).scalars())


def refunds(payment_id: int) -> list[Refund]:
    return list(
        db.session.execute(
            select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)
        ).scalars()
    )


def snapshot(payment_id: int, order_id: int) -> tuple:
    """What a refused callback must not change."""
    payment, order = payment_row(payment_id), order_row(order_id)
    return (
        payment.status,
        payment.paid_at,
        payment.refunded_amount,
        payment.updated_at,
        order.status,
        len(history(order_id)),
    )


def money(value: str) -> Decimal:
    return Decimal(value)
