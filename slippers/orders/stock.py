"""Stock moves: taken atomically when an order is placed, given back exactly once."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update

from slippers.catalog.models import Slipper
from slippers.errors import Conflict
from slippers.extensions import db


def take_stock(quantities: dict[int, int]) -> None:
    """Take `{slipper_id: qty}` or raise Conflict naming the first slipper short of stock.

    Conditional UPDATEs in ascending id order: on PostgreSQL each row lock is taken in
    the same order by every buyer (no deadlock between {A,B} and {B,A}), and the
    `quantity >= n` guard makes overselling impossible without a prior read.
    The caller's transaction is rolled back by the caller on Conflict.
    """
    for slipper_id in sorted(quantities):
        wanted = quantities[slipper_id]
        taken = db.session.execute(
            update(Slipper)
            .where(
                Slipper.id == slipper_id,
                Slipper.deleted_at.is_(None),
                Slipper.quantity >= wanted,
            )
            .values(quantity=Slipper.quantity - wanted)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            row = db.session.execute(
                select(Slipper.name, Slipper.quantity, Slipper.deleted_at).where(
                    Slipper.id == slipper_id
                )
            ).first()
            if row is None or row.deleted_at is not None:
                raise Conflict(f"Slipper {slipper_id} is no longer sold")
            raise Conflict(
                f"Not enough stock for '{row.name}' (id {slipper_id}): "
                f"{row.quantity} left, {wanted} requested",
                errors={"slipper_id": slipper_id, "available": row.quantity},
            )


def return_stock(lines: Iterable[tuple[int | None, int]]) -> None:
    """Give back `(slipper_id, qty)` lines; lines of slippers gone from the DB are skipped."""
    totals: dict[int, int] = {}
    for slipper_id, qty in lines:
        if slipper_id is not None:
            totals[slipper_id] = totals.get(slipper_id, 0) + qty
    for slipper_id in sorted(totals):
        db.session.execute(
            update(Slipper)
            .where(Slipper.id == slipper_id)
            .values(quantity=Slipper.quantity + totals[slipper_id])
            .execution_options(synchronize_session=False)
        )
