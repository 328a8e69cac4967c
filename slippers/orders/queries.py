"""Reading orders: the list (constant number of queries) and one order with its history."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from slippers.errors import Forbidden, NotFound
from slippers.extensions import db
from slippers.orders.models import Order, OrderStatusChange
from slippers.pagination import paginate
from slippers.payments.models import Payment

SETTLED_PAYMENT_STATUSES = ("PAID", "REFUNDED")


def list_orders(
    user,
    *,
    page: int,
    page_size: int,
    status: str | None = None,
    user_id: int | None = None,
    finance: str | None = None,
) -> dict:
    """Own orders (admins: all, or one user's), newest first, with their lines.

    Three queries whatever the page size: count, page, and one IN query for the lines.
    A non-admin naming another user's id is refused (403) rather than silently ignored.
    """
    stmt = select(Order)
    if not user.is_admin:
        if user_id not in (None, user.id):
            raise Forbidden("Only administrators can list other users' orders")
        user_id = user.id
    if user_id is not None:
        stmt = stmt.where(Order.user_id == user_id)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if finance == "paid_refunded":
        stmt = stmt.where(latest_payment_status().in_(SETTLED_PAYMENT_STATUSES))
    stmt = stmt.order_by(Order.created_at.desc(), Order.id.desc()).options(
        selectinload(Order.items)
    )
    return paginate(stmt, page, page_size)


def latest_payment_status():
    """Correlated scalar subquery: the status of the order's latest payment (created_at, id)."""
    return (
        select(Payment.status)
        .where(Payment.order_id == Order.id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
        .correlate(Order)
        .scalar_subquery()
    )


def visible_order_query(user, order_id: int) -> Select:
    """The order if `user` may see it: its owner or an admin (others get a 404, not a 403)."""
    stmt = select(Order).where(Order.id == order_id)
    if not user.is_admin:
        stmt = stmt.where(Order.user_id == user.id)
    return stmt


def get_visible_order(user, order_id: int, *, with_items: bool = True) -> Order:
    stmt = visible_order_query(user, order_id)
    if with_items:
        stmt = stmt.options(selectinload(Order.items))
    order = db.session.execute(stmt).scalar_one_or_none()
    if order is None:
        raise NotFound("Order not found")
    return order


def get_order_detail(user, order_id: int) -> dict:
    return order_detail(get_visible_order(user, order_id))


def order_detail(order: Order) -> dict:
    """The order's fields and lines plus its payments and status history, oldest first."""
    payments = db.session.execute(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.created_at, Payment.id)
    ).scalars()
    history = db.session.execute(
        select(OrderStatusChange)
        .where(OrderStatusChange.order_id == order.id)
        .order_by(OrderStatusChange.created_at, OrderStatusChange.id)
    ).scalars()
    return detail_view(order, list(payments), list(history))


def detail_view(order: Order, payments: list, history: list) -> dict:
    return {
        "id": order.id,
        "user_id": order.user_id,
        "status": order.status,
        "total_amount": order.total_amount,
        "currency": order.currency,
        "notes": order.notes,
        "items": order.items,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "payments": payments,
        "status_history": history,
    }


def has_payments(order_id: int) -> bool:
    found = db.session.execute(select(Payment.id).where(Payment.order_id == order_id).limit(1))
    return found.first() is not None
