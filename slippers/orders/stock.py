"""Stock moves: taken atomically when an order is placed, given back exactly once.

Each move is noted on the session; once the transaction commits, the catalog cache hears
which slippers changed (and whether one sold out or came back), so cached pages showing
them are rebuilt. A rolled-back move is never announced; nobody has to remember to.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from slippers.catalog.models import Slipper
from slippers.catalog.stock_stamps import stock_changed
from slippers.errors import Conflict
from slippers.extensions import db

_MOVES = "slippers.stock_moves"


def take_stock(quantities: dict[int, int]) -> None:
    """Take `{slipper_id: qty}` or raise Conflict naming the first slipper short of stock.

    Conditional UPDATEs in ascending id order: on PostgreSQL each row lock is taken in
    the same order by every buyer (no deadlock between {A,B} and {B,A}), and the
    `quantity >= n` guard makes overselling impossible without a prior read.
    The caller's transaction is rolled back by the caller on Conflict.
    """
    for slipper_id in sorted(quantities):
        wanted = quantities[slipper_id]
        left = db.session.execute(
            update(Slipper)
            .where(
                Slipper.id == slipper_id,
                Slipper.deleted_at.is_(None),
                Slipper.quantity >= wanted,
            )
            .values(quantity=Slipper.quantity - wanted)
            .returning(Slipper.quantity)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if left is not None:
            _note_move(slipper_id, crossed_zero=left == 0)
            continue
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
        now = db.session.execute(
            update(Slipper)
            .where(Slipper.id == slipper_id)
            .values(quantity=Slipper.quantity + totals[slipper_id])
            .returning(Slipper.quantity)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if now is not None:
            _note_move(slipper_id, crossed_zero=now == totals[slipper_id])


def _note_move(slipper_id: int, crossed_zero: bool) -> None:
    moves = db.session.info.setdefault(_MOVES, {"ids": set(), "crossed_zero": False})
    moves["ids"].add(slipper_id)
    moves["crossed_zero"] = moves["crossed_zero"] or crossed_zero


@event.listens_for(Session, "after_commit")
def _announce_moves(session: Session) -> None:
    moves = session.info.pop(_MOVES, None)
    if moves:
        stock_changed(moves["ids"], moves["crossed_zero"])


@event.listens_for(Session, "after_transaction_end")
def _forget_rolled_back_moves(session: Session, transaction) -> None:
    # After a commit the moves were announced (after_commit runs first); after a rollback
    # of the whole transaction they never happened. A savepoint's end keeps them: the
    # outer commit may still announce a move that was undone, which only costs a rebuild.
    if transaction.parent is None:
        session.info.pop(_MOVES, None)
