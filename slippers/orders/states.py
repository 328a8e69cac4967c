"""The order state machine: the only moves there are, in one table."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from slippers.db_types import utcnow
from slippers.errors import Conflict
from slippers.extensions import db
from slippers.orders.models import Order, OrderStatusChange

# from-status -> {to-status: who may make the move}
# "payment" moves are made by the payment flow (callbacks, refunds), never by a PATCH.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "pending": {
        "confirmed": frozenset({"payment"}),
        "cancelled": frozenset({"owner", "admin", "system"}),
    },
    "confirmed": {
        "shipped": frozenset({"admin"}),
        "refunded": frozenset({"payment"}),
    },
    "shipped": {
        "delivered": frozenset({"admin"}),
        "refunded": frozenset({"payment"}),
    },
    "delivered": {"refunded": frozenset({"payment"})},
    "cancelled": {},
    "refunded": {},
}


def can_move(from_status: str, to_status: str, role: str) -> bool:
    return role in TRANSITIONS.get(from_status, {}).get(to_status, frozenset())


def move_order(
    order: Order,
    to_status: str,
    *,
    role: str,
    actor_id: int | None = None,
    reason: str | None = None,
) -> None:
    """Move `order` if the table allows it, guarded against a concurrent move; record it.

    Uses a conditional UPDATE (status must still be what we read), so two requests
    racing on the same order cannot both move it. Raises Conflict otherwise.
    """
    from_status = order.status
    if not can_move(from_status, to_status, role):
        raise Conflict(f"Order {order.id} cannot move from {from_status} to {to_status}")
    now = utcnow()
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == from_status)
        .values(status=to_status, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise Conflict(f"Order {order.id} changed meanwhile; reload and retry")
    # The row is already written: mirror it on the object without making it dirty.
    set_committed_value(order, "status", to_status)
    set_committed_value(order, "updated_at", now)
    record_status_change(order.id, from_status, to_status, actor_id, reason)


def record_status_change(
    order_id: int, from_status: str | None, to_status: str, actor_id: int | None, reason: str | None
) -> OrderStatusChange:
    """Add a history row (`from_status` None = the order's creation) to the session."""
    change = OrderStatusChange(
        order_id=order_id,
        from_status=from_status,
        to_status=to_status,
        changed_by_user_id=actor_id,
        reason=reason,
    )
    db.session.add(change)
    return change
