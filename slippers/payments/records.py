"""Row locks and small writes shared by the payment flows (create, callbacks, refunds)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from slippers.errors import NotFound
from slippers.extensions import db
from slippers.orders.models import Order
from slippers.payments.gateway import clean_text
from slippers.payments.models import Payment, PaymentEvent, Refund
from slippers.payments.statuses import REFUND_PENDING

MAX_NOTE = 1000


def lock_payment(payment_id: int) -> Payment:
    """The payment, re-read under a row lock (PostgreSQL; SQLite serialises writers)."""
    payment = db.session.execute(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if payment is None:
        raise NotFound("Payment not found")
    return payment


def lock_order(order_id: int) -> Order:
    """The order with its lines, re-read under a row lock."""
    return db.session.execute(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update(of=Order)
        .options(selectinload(Order.items))
        .execution_options(populate_existing=True)
    ).scalar_one()


def record_event(
    payment_id: int | None,
    *,
    source: str,
    octo_status: Any,
    outcome: str,
    payload: dict,
    signature_valid: bool | None = None,
    note: str | None = None,
) -> None:
    """Keep one raw message from OCTO (or our call's answer) with what we did about it."""
    db.session.add(
        PaymentEvent(
            payment_id=payment_id,
            source=source,
            octo_status=clean_text(octo_status, 32),
            signature_valid=signature_valid,
            outcome=outcome,
            note=note[:MAX_NOTE] if note else None,
            payload=payload,
        )
    )


def reserved_refunds(payment_id: int, *, fresh_after=None) -> Decimal:
    """Sum of PENDING refunds of the payment (those updated after `fresh_after`, if given)."""
    stmt = select(func.coalesce(func.sum(Refund.amount), 0)).where(
        Refund.payment_id == payment_id, Refund.status == REFUND_PENDING
    )
    if fresh_after is not None:
        stmt = stmt.where(Refund.updated_at > fresh_after)
    return Decimal(db.session.execute(stmt).scalar_one())


def other_payment_paid(payment: Payment) -> bool:
    """Whether another payment of the same order is PAID (then this one did not pay it)."""
    return db.session.execute(
        select(
            exists().where(
                Payment.order_id == payment.order_id,
                Payment.id != payment.id,
                Payment.status == "PAID",
            )
        )
    ).scalar_one()
