"""The user's cart: one per user, one line per slipper, priced live at today's prices.

A line of a slipper removed from the catalog (soft-deleted) is invisible: it is not
shown, priced, edited or ordered.
"""

from __future__ import annotations

from decimal import Decimal

from flask import current_app
from sqlalchemy import delete, func, select

from slippers.cart.models import Cart, CartItem
from slippers.catalog.models import Slipper
from slippers.db_types import CENT, utcnow
from slippers.errors import NotFound, Unprocessable
from slippers.extensions import db
from slippers.orders.sql import dialect_insert


def view_cart(user_id: int) -> dict:
    """The whole cart as the API shows it, in one query (no cart yet: an empty one)."""
    rows = db.session.execute(
        select(
            CartItem.id,
            CartItem.slipper_id,
            CartItem.quantity,
            Slipper.name,
            Slipper.size,
            Slipper.price,
        )
        .join(Cart, Cart.id == CartItem.cart_id)
        .join(Slipper, Slipper.id == CartItem.slipper_id)
        .where(Cart.user_id == user_id, Slipper.deleted_at.is_(None))
        .order_by(CartItem.id)
    ).all()
    items = [
        {
            "id": row.id,
            "slipper_id": row.slipper_id,
            "name": row.name,
            "size": row.size,
            "unit_price": row.price,
            "quantity": row.quantity,
            "line_total": (row.price * row.quantity).quantize(CENT),
        }
        for row in rows
    ]
    return {
        "items": items,
        "total_quantity": sum(item["quantity"] for item in items),
        "total_amount": sum((item["line_total"] for item in items), Decimal("0.00")),
    }


def add_item(user_id: int, slipper_id: int, quantity: int) -> dict:
    """Add to the slipper's line, creating cart and line as needed; the sum stays bounded.

    One `INSERT ... ON CONFLICT DO UPDATE quantity = quantity + n WHERE` the new total is
    within the limit: two concurrent adds can neither lose an update nor pass the limit.
    """
    max_qty = current_app.config["ORDER_MAX_QTY_PER_ITEM"]
    try:
        _require_sold(slipper_id)
        cart_id = _cart_id(user_id, create=True)
        _require_room_for_line(cart_id, slipper_id)
        now = utcnow()
        insert = dialect_insert(CartItem).values(
            cart_id=cart_id,
            slipper_id=slipper_id,
            quantity=quantity,
            created_at=now,
            updated_at=now,
        )
        existing = CartItem.__table__.c
        merged = insert.on_conflict_do_update(
            index_elements=[existing.cart_id, existing.slipper_id],
            set_={"quantity": existing.quantity + quantity, "updated_at": now},
            where=existing.quantity + quantity <= max_qty,
        ).returning(existing.id)
        if db.session.execute(merged).first() is None:
            raise Unprocessable(
                f"At most {max_qty} of one slipper fit in the cart",
                errors={"quantity": [f"The line would exceed {max_qty}."]},
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return view_cart(user_id)


def set_quantity(user_id: int, item_id: int, quantity: int) -> dict:
    item = _own_item(user_id, item_id)
    if quantity == 0:
        db.session.delete(item)
    else:
        item.quantity = quantity
    db.session.commit()
    return view_cart(user_id)


def remove_item(user_id: int, item_id: int) -> dict:
    db.session.delete(_own_item(user_id, item_id))
    db.session.commit()
    return view_cart(user_id)


def clear_cart(user_id: int) -> dict:
    db.session.execute(delete(CartItem).where(CartItem.cart_id.in_(_cart_ids(user_id))))
    db.session.commit()
    return {"items": [], "total_quantity": 0, "total_amount": Decimal("0.00")}


def take_cart_lines(user_id: int) -> list[tuple[int, int]]:
    """Empty the cart in the caller's transaction and return its `(slipper_id, qty)` lines.

    A DELETE ... RETURNING claims the lines: of two concurrent checkouts of one cart,
    the second finds nothing. Nothing is committed here.
    """
    rows = db.session.execute(
        delete(CartItem)
        .where(CartItem.cart_id.in_(_cart_ids(user_id)))
        .returning(CartItem.id, CartItem.slipper_id, CartItem.quantity)
    ).all()
    return [(row.slipper_id, row.quantity) for row in sorted(rows, key=lambda row: row.id)]


def _cart_ids(user_id: int):
    return select(Cart.id).where(Cart.user_id == user_id).scalar_subquery()


def _cart_id(user_id: int, *, create: bool) -> int | None:
    """The user's cart id; created race-safely (unique user_id, ON CONFLICT DO NOTHING)."""
    find = select(Cart.id).where(Cart.user_id == user_id)
    cart_id = db.session.execute(find).scalar_one_or_none()
    if cart_id is None and create:
        now = utcnow()
        db.session.execute(
            dialect_insert(Cart)
            .values(user_id=user_id, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=[Cart.__table__.c.user_id])
        )
        cart_id = db.session.execute(find).scalar_one()
    return cart_id


def _require_sold(slipper_id: int) -> None:
    sold = db.session.execute(
        select(Slipper.id).where(Slipper.id == slipper_id, Slipper.deleted_at.is_(None))
    ).first()
    if sold is None:
        raise Unprocessable(
            f"Slipper {slipper_id} does not exist or is no longer sold",
            errors={"slipper_id": ["Unknown slipper."]},
        )


def _require_room_for_line(cart_id: int, slipper_id: int) -> None:
    """A cart holds at most ORDER_MAX_LINES different slippers (one order's worth)."""
    limit = current_app.config["ORDER_MAX_LINES"]
    others = db.session.execute(
        select(func.count())
        .select_from(CartItem)
        .where(CartItem.cart_id == cart_id, CartItem.slipper_id != slipper_id)
    ).scalar_one()
    if others >= limit:
        raise Unprocessable(
            f"A cart holds at most {limit} different slippers",
            errors={"slipper_id": [f"The cart already has {others} lines."]},
        )


def _own_item(user_id: int, item_id: int) -> CartItem:
    item = db.session.execute(
        select(CartItem)
        .join(Cart, Cart.id == CartItem.cart_id)
        .join(Slipper, Slipper.id == CartItem.slipper_id)
        .where(CartItem.id == item_id, Cart.user_id == user_id, Slipper.deleted_at.is_(None))
    ).scalar_one_or_none()
    if item is None:
        raise NotFound("Cart item not found")
    return item
