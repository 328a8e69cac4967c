"""Order rules: placed at server prices with stock taken atomically, moved only along the
state machine (states.py), stock given back exactly once, expired when left unpaid."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import Row, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from slippers.cart.service import take_cart_lines
from slippers.catalog.models import Slipper
from slippers.db_types import CENT, utcnow
from slippers.errors import Conflict, Forbidden, Unprocessable
from slippers.extensions import db
from slippers.fields import MAX_MONEY
from slippers.orders.models import Order, OrderItem, OrderStatusChange
from slippers.orders.queries import (
    SETTLED_PAYMENT_STATUSES,
    get_visible_order,
    has_payments,
    order_detail,
)
from slippers.orders.states import move_order
from slippers.orders.stock import return_stock, take_stock
from slippers.payments.models import Payment

EXPIRY_BATCH = 100


def place_order(
    user, lines: Iterable[dict], notes: str | None = None, claimed_user_id: int | None = None
) -> dict:
    """Place an order for `user` from `[{slipper_id, quantity}]`; prices come from the catalog.

    `claimed_user_id` (the body's optional `user_id`) must be the caller's own id: an
    order is never placed for somebody else, admins included (403).
    """
    if claimed_user_id is not None and claimed_user_id != user.id:
        raise Forbidden("An order can only be placed for yourself")
    quantities = merge_lines((line["slipper_id"], line["quantity"]) for line in lines)
    try:
        slippers = _sold_slippers(quantities)
        unknown = sorted(set(quantities) - set(slippers))
        if unknown:
            raise Unprocessable(
                "Unknown slipper(s): " + ", ".join(map(str, unknown)),
                errors={"items": {"slipper_id": [f"Unknown slipper {sid}." for sid in unknown]}},
            )
        detail = _write_order(user, quantities, slippers, notes)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return detail


def place_order_from_cart(user, notes: str | None = None) -> dict:
    """Order the cart's lines (those of removed slippers are dropped) and empty the cart,
    in one transaction: a failed order leaves the cart as it was."""
    try:
        quantities = merge_lines(take_cart_lines(user.id))
        slippers = _sold_slippers(quantities)
        quantities = {sid: qty for sid, qty in quantities.items() if sid in slippers}
        if not quantities:
            raise Conflict("The cart is empty")
        limit = current_app.config["ORDER_MAX_LINES"]
        if len(quantities) > limit:
            raise Unprocessable(f"An order has at most {limit} lines; the cart has more")
        detail = _write_order(user, quantities, slippers, notes)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return detail


def merge_lines(lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    """`{slipper_id: total}`; a merged total above ORDER_MAX_QTY_PER_ITEM is a 422."""
    limit = current_app.config["ORDER_MAX_QTY_PER_ITEM"]
    quantities: dict[int, int] = {}
    for slipper_id, qty in lines:
        quantities[slipper_id] = quantities.get(slipper_id, 0) + qty
    over = [sid for sid, qty in quantities.items() if qty > limit]
    if over:
        raise Unprocessable(
            f"At most {limit} of one slipper per order",
            errors={"items": {"quantity": [f"Slipper {sid}: more than {limit}." for sid in over]}},
        )
    return quantities


def update_order(user, order_id: int, changes: dict) -> dict:
    """Owner: `notes` and `status: cancelled` while pending. Admin: `status` along the
    moves of states.py and `notes`. A pending order cancelled here gets its stock back."""
    order = get_visible_order(user, order_id)
    role = "admin" if user.is_admin else "owner"
    if role == "owner" and changes and order.status != "pending":
        raise Conflict(f"Order {order.id} is {order.status}; only a pending order can be changed")
    try:
        if "notes" in changes:
            _set_notes(order, changes["notes"], only_if_pending=role == "owner")
        if "status" in changes:
            _move_returning_stock(order, changes["status"], role, user.id, None)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return order_detail(order)


def delete_order(user, order_id: int) -> None:
    """Delete a pending or cancelled order that has no payment row at all (any payment,
    even a failed one, is a money record kept for the books → 409). A pending order's
    stock goes back, exactly once: it is first moved to cancelled by move_order."""
    order = get_visible_order(user, order_id)
    if order.status not in ("pending", "cancelled"):
        raise Conflict(f"Order {order.id} is {order.status}; only pending or cancelled can go")
    if has_payments(order.id):
        raise Conflict(f"Order {order.id} has payment records and is kept")
    role = "admin" if user.is_admin else "owner"
    try:
        if order.status == "pending":
            _move_returning_stock(order, "cancelled", role, user.id, "deleted")
        removed = db.session.execute(
            delete(Order).where(Order.id == order.id, Order.status == "cancelled")
        ).rowcount
        if removed != 1:
            raise Conflict(f"Order {order.id} changed meanwhile; reload and retry")
        db.session.commit()
    except IntegrityError as exc:  # a payment row appeared meanwhile (FK RESTRICT)
        db.session.rollback()
        raise Conflict(f"Order {order.id} has payment records and is kept") from exc
    except Exception:
        db.session.rollback()
        raise
    db.session.expunge(order)


def expire_pending_orders(ttl_minutes: int) -> int:
    """Cancel pending orders older than `ttl_minutes` (0: all) with no PAID or REFUNDED
    payment, giving their stock back; returns how many this run cancelled.

    Safe on several hosts at once: on PostgreSQL each batch locks its candidates
    `FOR UPDATE SKIP LOCKED` (another runner's rows are skipped, not waited for), and
    move_order's conditional UPDATE makes a second cancel of one order impossible.
    """
    cutoff = utcnow() - timedelta(minutes=max(ttl_minutes, 0))
    postgres = db.session.get_bind().dialect.name == "postgresql"
    settled = exists().where(
        Payment.order_id == Order.id, Payment.status.in_(SETTLED_PAYMENT_STATUSES)
    )
    expired, last_id = 0, 0
    while True:
        candidates = (
            select(Order.id)
            .where(
                Order.status == "pending",
                Order.created_at <= cutoff,
                Order.id > last_id,
                ~settled,
            )
            .order_by(Order.id)
            .limit(EXPIRY_BATCH)
        )
        if postgres:
            candidates = candidates.with_for_update(skip_locked=True, of=Order)
        try:
            ids = db.session.execute(candidates).scalars().all()
            if not ids:
                db.session.rollback()
                break
            last_id = ids[-1]
            expired += _cancel_expired(ids)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return expired


def _cancel_expired(ids: list[int]) -> int:
    orders = db.session.execute(
        select(Order)
        .where(Order.id.in_(ids))
        .order_by(Order.id)
        .options(selectinload(Order.items))
        .execution_options(populate_existing=True)
    ).scalars()
    lines: list[tuple[int | None, int]] = []
    cancelled = 0
    for order in orders:
        if order.status != "pending":
            continue
        try:
            move_order(order, "cancelled", role="system", reason="expired")
        except Conflict:
            continue  # moved by someone else meanwhile: nothing was written for it
        lines.extend((item.slipper_id, item.quantity) for item in order.items)
        cancelled += 1
    return_stock(lines)
    return cancelled


def _sold_slippers(quantities: dict[int, int]) -> dict[int, Row]:
    """`{id: (id, name, size, price)}` of the slippers still sold among the wanted ones."""
    if not quantities:
        return {}
    rows = db.session.execute(
        select(Slipper.id, Slipper.name, Slipper.size, Slipper.price).where(
            Slipper.id.in_(list(quantities)), Slipper.deleted_at.is_(None)
        )
    )
    return {row.id: row for row in rows}


def _write_order(user, quantities: dict[int, int], slippers: dict[int, Row], notes) -> dict:
    """Write the order, its lines (name, size, price snapshotted) and its first history row,
    then take the stock last: the slipper rows stay locked only from that UPDATE to the
    COMMIT, which keeps a best-seller from serialising whole requests.

    Plain INSERTs rather than a unit-of-work flush: this is the hottest write of the shop.
    """
    now = utcnow()
    items = [
        {
            "slipper_id": sid,
            "name": slippers[sid].name,
            "size": slippers[sid].size,
            "unit_price": slippers[sid].price,
            "quantity": qty,
            "line_total": (slippers[sid].price * qty).quantize(CENT),
        }
        for sid, qty in quantities.items()
    ]
    total = sum((item["line_total"] for item in items), Decimal("0.00"))
    if total > MAX_MONEY:
        raise Unprocessable(f"The order total {total} is larger than the shop accepts")
    order = {
        "user_id": user.id,
        "status": "pending",
        "total_amount": total,
        "currency": current_app.config["SHOP_CURRENCY"],
        "notes": notes,
        "created_at": now,
        "updated_at": now,
    }
    order["id"] = db.session.execute(
        insert(Order.__table__).values(order).returning(Order.__table__.c.id)
    ).scalar_one()
    db.session.execute(
        insert(OrderItem.__table__), [{**item, "order_id": order["id"]} for item in items]
    )
    placed = {
        "order_id": order["id"],
        "from_status": None,
        "to_status": "pending",
        "changed_by_user_id": user.id,
        "reason": "placed",
        "created_at": now,
    }
    db.session.execute(insert(OrderStatusChange.__table__).values(placed))
    take_stock(quantities)
    return {**order, "items": items, "payments": [], "status_history": [placed]}


def _move_returning_stock(order: Order, to_status: str, role: str, actor_id, reason) -> None:
    """Move the order; when this very call moved it pending → cancelled, return its stock."""
    from_status = order.status
    move_order(order, to_status, role=role, actor_id=actor_id, reason=reason)
    if from_status == "pending" and to_status == "cancelled":
        return_stock((item.slipper_id, item.quantity) for item in order.items)


def _set_notes(order: Order, notes: str | None, *, only_if_pending: bool) -> None:
    now = utcnow()
    stmt = update(Order).where(Order.id == order.id).values(notes=notes, updated_at=now)
    if only_if_pending:
        stmt = stmt.where(Order.status == "pending")
    if db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount != 1:
        raise Conflict(f"Order {order.id} changed meanwhile; reload and retry")
    set_committed_value(order, "notes", notes)
    set_committed_value(order, "updated_at", now)
