"""Payment rules: what the routes and the CLI call.

Creating a payment: the Payment row (CREATED, the order's total) is committed before OCTO is
called, so a crash or a gateway failure never leaves money without a record; the call to
OCTO holds no database lock. A row left CREATED without an OCTO id by a failed call is reused
by the next attempt with the same shop_transaction_id (OCTO de-duplicates on it).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from slippers.auth.models import User
from slippers.db_types import utcnow
from slippers.errors import Conflict, GatewayError, GatewayTimeout, NotFound, Unprocessable
from slippers.extensions import db
from slippers.orders.models import Order
from slippers.payments.apply import apply_octo_status
from slippers.payments.gateway import (
    basket_for,
    describe_order,
    new_reference,
    octo_client,
    storable,
    ttl_minutes,
    url_for_order,
    user_data_for,
)
from slippers.payments.models import Payment
from slippers.payments.octo_results import gateway_error
from slippers.payments.reads import get_payment_detail, list_payments, payment_by_id
from slippers.payments.reconcile import reconcile_open_payments, reconcile_payment
from slippers.payments.records import lock_payment
from slippers.payments.refunds import refund_payment
from slippers.payments.statuses import OPEN_STATUSES
from slippers.payments.webhook import handle_callback

__all__ = [
    "create_payment",
    "get_payment_detail",
    "handle_callback",
    "list_payments",
    "reconcile_open_payments",
    "refund_admin",
]


def create_payment(
    user, order_id: int, claimed: dict[str, Decimal], request_id: str | None = None
) -> tuple[dict, int]:
    """Start paying the user's pending order through OCTO: (body, 201), or (open one, 200).

    `claimed` holds the `amount` / `total_sum` an old client sent: each must equal the
    order's total exactly, the server never charges anything else.
    """
    payment, fresh = _open_or_new_payment(user, order_id, claimed)
    if not fresh and _expired(payment):
        # Open, but past OCTO's TTL: ask OCTO first (it is closed unless it was paid).
        reconcile_payment(payment.id, request_id)
        payment, fresh = _open_or_new_payment(user, order_id, claimed)
    if not fresh:
        return created_view(payment), 200
    if payment.octo_payment_uuid is None:
        payment = _prepare_at_octo(user, payment.id, request_id)
    return created_view(payment), 201


def _open_or_new_payment(user, order_id: int, claimed: dict[str, Decimal]):
    """(payment, fresh): the order's open payment at OCTO, or one to send (new or retried)."""
    try:
        order = db.session.execute(
            select(Order)
            .where(Order.id == order_id, Order.user_id == user.id)
            .with_for_update()  # one attempt at a time per order
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if order is None:
            raise NotFound("Order not found")
        _check_claimed_amounts(order, claimed)
        if order.status != "pending":
            raise Conflict(f"Order {order.id} is {order.status}; only a pending order can be paid")
        if order.total_amount <= 0:
            raise Conflict(f"Order {order.id} has nothing to pay")
        open_payments = db.session.execute(
            select(Payment)
            .where(Payment.order_id == order.id, Payment.status.in_(OPEN_STATUSES))
            .order_by(Payment.created_at.desc(), Payment.id.desc())
        ).scalars()
        open_payments = list(open_payments)
        for payment in open_payments:
            if payment.octo_payment_uuid:
                db.session.commit()
                return payment, False
        if open_payments:  # left without an OCTO id by a failed call: retry it as it is
            db.session.commit()
            return open_payments[0], True
        payment = Payment(
            order_id=order.id,
            amount=order.total_amount,
            refunded_amount=Decimal("0.00"),
            currency=order.currency,
            status="CREATED",
            shop_transaction_id=new_reference("pay", order.id),
        )
        db.session.add(payment)
        db.session.commit()
        return payment, True
    except Exception:
        db.session.rollback()
        raise


def _check_claimed_amounts(order: Order, claimed: dict[str, Decimal]) -> None:
    wrong = {
        name: [f"Must equal the order total {order.total_amount}."]
        for name, amount in claimed.items()
        if amount != order.total_amount
    }
    if wrong:
        raise Unprocessable(
            f"The amount must equal the order total {order.total_amount}", errors=wrong
        )


def _expired(payment: Payment) -> bool:
    ttl = ttl_minutes()
    return ttl is not None and payment.created_at <= utcnow() - timedelta(minutes=ttl)


def _prepare_at_octo(user, payment_id: int, request_id: str | None) -> Payment:
    """Call OCTO (no lock held); store its id and pay URL through the common apply path."""
    payment = payment_by_id(payment_id)
    order = db.session.execute(
        select(Order).where(Order.id == payment.order_id).options(selectinload(Order.items))
    ).scalar_one()
    buyer = db.session.get(User, user.id)
    config = current_app.config
    call = {
        "shop_transaction_id": payment.shop_transaction_id,
        "total_sum": payment.amount,
        "currency": payment.currency,
        "description": describe_order(order.id),
        "return_url": url_for_order("OCTO_RETURN_URL", order.id),
        "notify_url": url_for_order("OCTO_NOTIFY_URL", order.id),
        "language": config["OCTO_LANGUAGE"],
        "init_time": utcnow(),
        "test": bool(config["OCTO_TEST"]),
        "auto_capture": bool(config["OCTO_AUTO_CAPTURE"]),
        "ttl": ttl_minutes(),
        "user_data": user_data_for(buyer),
        "basket": basket_for(order.items),
    }
    db.session.rollback()  # no transaction open during the HTTP call
    try:
        prepared = octo_client().prepare_payment(**call, request_id=request_id)
    except (GatewayError, GatewayTimeout) as exc:
        _record_error(payment_id, exc.message, close=False)
        raise
    if prepared.total_sum is not None and prepared.total_sum != call["total_sum"]:
        message = f"OCTO answered the amount {prepared.total_sum}, not {call['total_sum']}"
        _record_error(payment_id, message, close=True)
        raise gateway_error(message)
    apply_octo_status(
        payment_id,
        prepared.status,
        source="create",
        payload=storable(prepared.raw),
        attach=(prepared.octo_payment_uuid, prepared.octo_pay_url),
        request_id=request_id,
    )
    return payment_by_id(payment_id)


def _record_error(payment_id: int, message: str, *, close: bool) -> None:
    """Keep the gateway's message; `close` makes the next attempt start a new payment."""
    try:
        payment = lock_payment(payment_id)
        payment.last_error = message[:500]
        if close and payment.status in OPEN_STATUSES:
            payment.status = "FAILED"
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def created_view(payment: Payment) -> dict:
    return {
        "payment_id": payment.id,
        "order_id": payment.order_id,
        "octo_payment_uuid": payment.octo_payment_uuid,
        "octo_pay_url": payment.octo_pay_url,
        "status": payment.status,
    }


def refund_admin(admin, octo_payment_uuid: str, amount, request_id: str | None = None) -> dict:
    """Refund (see refunds.py) and answer the payment with its refunds and events."""
    payment_id = refund_payment(admin, octo_payment_uuid, amount, request_id)
    return get_payment_detail(admin, payment_id)
