"""Reading payments: the admin list, and one payment with its refunds and gateway events."""

from __future__ import annotations

from sqlalchemy import select

from slippers.errors import NotFound
from slippers.extensions import db
from slippers.orders.models import Order
from slippers.pagination import paginate
from slippers.payments.models import Payment, PaymentEvent, Refund

MAX_EVENTS_SHOWN = 100
PAYMENT_FIELDS = (
    "id",
    "order_id",
    "amount",
    "refunded_amount",
    "currency",
    "status",
    "octo_payment_uuid",
    "shop_transaction_id",
    "octo_pay_url",
    "created_at",
    "updated_at",
    "paid_at",
)
EVENT_FIELDS = ("id", "source", "octo_status", "signature_valid", "outcome", "note", "created_at")


def list_payments(
    *, page: int, page_size: int, status: str | None = None, order_id: int | None = None
) -> dict:
    """Newest first; optional filters."""
    stmt = select(Payment)
    if status is not None:
        stmt = stmt.where(Payment.status == status)
    if order_id is not None:
        stmt = stmt.where(Payment.order_id == order_id)
    stmt = stmt.order_by(Payment.created_at.desc(), Payment.id.desc())
    return paginate(stmt, page, page_size)


def get_payment_detail(user, payment_id: int) -> dict:
    """The payment if `user` owns its order or is an admin; anyone else gets a 404."""
    stmt = select(Payment).where(Payment.id == payment_id)
    if not user.is_admin:
        stmt = stmt.join(Order, Order.id == Payment.order_id).where(Order.user_id == user.id)
    payment = db.session.execute(stmt).scalar_one_or_none()
    if payment is None:
        raise NotFound("Payment not found")
    return payment_detail(payment, with_payloads=user.is_admin)


def payment_detail(payment: Payment, *, with_payloads: bool) -> dict:
    """Fields, refunds (oldest first) and the latest gateway events (raw payloads: admins)."""
    refunds = db.session.execute(
        select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id)
    ).scalars()
    events = db.session.execute(
        select(PaymentEvent)
        .where(PaymentEvent.payment_id == payment.id)
        .order_by(PaymentEvent.id.desc())
        .limit(MAX_EVENTS_SHOWN)
    ).scalars()
    event_views = []
    for event in reversed(list(events)):
        view = {name: getattr(event, name) for name in EVENT_FIELDS}
        if with_payloads:
            view["payload"] = event.payload
        event_views.append(view)
    view = {name: getattr(payment, name) for name in PAYMENT_FIELDS}
    return {**view, "refunds": list(refunds), "events": event_views}


def payment_by_id(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    if payment is None:
        raise NotFound("Payment not found")
    return payment
