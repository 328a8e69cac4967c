"""Applying an OCTO status to a payment: the one code path of callbacks, reconciliation and
the create call's answer.

Everything happens under the payment's row lock, re-read inside the lock, so duplicates and
concurrent repeats apply once. A payment only moves forward (statuses.RANK). Money taken for
nothing (a success for an order that cannot be delivered any more, or for a payment already
closed) is refunded automatically through OCTO once the decision is committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from slippers.cart.service import take_cart_lines
from slippers.db_types import utcnow
from slippers.errors import Conflict
from slippers.extensions import db
from slippers.orders.models import Order
from slippers.orders.states import move_order, record_status_change
from slippers.orders.stock import take_stock
from slippers.payments.gateway import clean_text, parse_amount
from slippers.payments.models import Payment, Refund
from slippers.payments.octo_results import gateway_error
from slippers.payments.records import lock_order, lock_payment, record_event
from slippers.payments.refunds import new_automatic_refund, run_automatic_refund
from slippers.payments.statuses import (
    CLOSED_UNPAID,
    HOLD_STATUS,
    OPEN_STATUSES,
    RANK,
    payment_status_for,
)

logger = logging.getLogger(__name__)
OK_ANSWER = {"status": "ok"}


@dataclass
class Decision:
    outcome: str
    note: str | None = None
    answer: dict = field(default_factory=lambda: dict(OK_ANSWER))
    refund_id: int | None = None


@dataclass(frozen=True)
class Applied:
    payment_id: int
    outcome: str
    status: str
    answer: dict


def apply_octo_status(
    payment_id: int,
    octo_status: Any,
    *,
    source: str,
    payload: dict,
    signature_valid: bool | None = None,
    total_sum: Any = None,
    currency: Any = None,
    attach: tuple[str, str | None] | None = None,
    request_id: str | None = None,
) -> Applied:
    """Apply what OCTO says about a payment, record the event, commit, then refund if due.

    `total_sum` / `currency` (when OCTO sent them) must match our record for a success to
    count; `attach` = (octo_payment_UUID, octo_pay_url) learned from OCTO's answer.
    """
    try:
        payment = lock_payment(payment_id)
        attached = _attach(payment, attach) if attach else False
        decision = _decide(payment, octo_status, total_sum, currency)
        if attached and decision.outcome == "duplicate":
            decision.outcome, decision.note = "attached", "OCTO's payment id stored"
        record_event(
            payment.id,
            source=source,
            octo_status=octo_status,
            outcome=decision.outcome,
            payload=payload,
            signature_valid=signature_valid,
            note=decision.note,
        )
        db.session.commit()
    except IntegrityError as exc:  # OCTO's UUID is already another payment's
        db.session.rollback()
        raise gateway_error("OCTO answered with a payment id that is already in use") from exc
    except Exception:
        db.session.rollback()
        raise
    if decision.refund_id is not None:
        run_automatic_refund(decision.refund_id, request_id)
    logger.info(
        "payment %s: octo status %r from %s -> %s (%s)",
        payment_id,
        clean_text(octo_status, 32),
        source,
        payment.status,
        decision.outcome,
    )
    return Applied(payment_id, decision.outcome, payment.status, decision.answer)


def _attach(payment: Payment, attach: tuple[str, str | None]) -> bool:
    uuid, pay_url = attach
    if payment.octo_payment_uuid or not uuid:
        return False
    payment.octo_payment_uuid = uuid[:64]
    payment.octo_pay_url = (pay_url or "")[:1024] or None
    payment.last_error = None
    db.session.flush()
    return True


def _decide(payment: Payment, octo_status: Any, total_sum: Any, currency: Any) -> Decision:
    target = payment_status_for(octo_status)
    status = octo_status.strip().lower() if target else None
    if target is None:
        return Decision("unknown_status", f"OCTO status {clean_text(octo_status, 40)!r} unknown")
    if payment.status not in OPEN_STATUSES:
        if target == "PAID" and payment.status in CLOSED_UNPAID:
            return _success_on_closed(payment, status, total_sum, currency)
        same = target == payment.status or (target == "PAID" and payment.status == "REFUNDED")
        return Decision("duplicate" if same else "stale", f"payment is {payment.status}")
    if RANK[target] < RANK[payment.status]:
        return Decision("stale", f"payment is already {payment.status}")
    if status == HOLD_STATUS:
        return _hold(payment, total_sum, currency)
    if target == payment.status:
        return Decision("duplicate", f"payment is already {payment.status}")
    if target == "PAID":
        return _paid(payment, status, total_sum, currency)
    payment.status, payment.octo_status = target, status
    return Decision("applied")


def amount_problem(payment: Payment, total_sum: Any, currency: Any) -> str | None:
    """Why OCTO's amount or currency disagrees with ours (signatures never cover amounts)."""
    if total_sum is not None:
        amount = parse_amount(total_sum)
        if amount is None:
            return f"OCTO total_sum {clean_text(str(total_sum), 40)!r} is not an amount"
        if amount != payment.amount:
            return f"OCTO total_sum {amount} differs from the payment's {payment.amount}"
    if currency is not None and str(currency).strip().upper() != payment.currency:
        return f"OCTO currency {clean_text(str(currency), 8)!r} differs from {payment.currency}"
    return None


def _mismatch(payment: Payment, problem: str) -> Decision:
    logger.warning("payment %s: %s; not marked paid", payment.id, problem)
    return Decision("amount_mismatch", problem)


def _hold(payment: Payment, total_sum: Any, currency: Any) -> Decision:
    """Two-stage hold: capture when we want it (auto capture off, amount right, order open)."""
    problem = amount_problem(payment, total_sum, currency)
    order = lock_order(payment.order_id)
    auto_capture = current_app.config["OCTO_AUTO_CAPTURE"]
    capture = not auto_capture and problem is None and order.status == "pending"
    changed = payment.octo_status != HOLD_STATUS
    payment.status, payment.octo_status = "PENDING", HOLD_STATUS
    answer = {"accept_status": "capture" if capture else "cancel"}
    if problem:
        decision = _mismatch(payment, problem)
        decision.answer = answer
        return decision
    why = "" if capture else f" (auto capture on or order {order.status})"
    return Decision("applied" if changed else "duplicate", f"answered {answer}{why}", answer)


def _paid(payment: Payment, status: str, total_sum: Any, currency: Any) -> Decision:
    problem = amount_problem(payment, total_sum, currency)
    if problem:
        return _mismatch(payment, problem)
    payment.status, payment.octo_status, payment.last_error = "PAID", status, None
    payment.paid_at = utcnow()
    order = lock_order(payment.order_id)
    if order.status == "pending":
        move_order(order, "confirmed", role="payment", reason=f"payment {payment.id} succeeded")
        take_cart_lines(order.user_id)  # the order is paid: empty the cart
        return Decision("applied")
    if order.status == "cancelled":
        if _take_stock_again(order):
            _confirm_cancelled(order)
            take_cart_lines(order.user_id)  # the order is paid: empty the cart
            return Decision("late_payment_confirmed", "stock taken again")
        return _refund_all(payment, "late payment: the order was cancelled and stock is gone")
    return _refund_all(payment, f"order {order.id} is already {order.status}")


def _success_on_closed(payment: Payment, status: str, total_sum: Any, currency: Any) -> Decision:
    """OCTO took money for a payment we had closed: it stays closed and the money goes back."""
    problem = amount_problem(payment, total_sum, currency)
    if problem:
        return _mismatch(payment, problem)
    already = db.session.execute(
        select(Refund.id).where(Refund.payment_id == payment.id, Refund.is_automatic.is_(True))
    ).first()
    if already is not None:
        return Decision("duplicate", "already being refunded")
    payment.octo_status, payment.paid_at = status, utcnow()
    return _refund_all(payment, f"paid after the payment was {payment.status}")


def _refund_all(payment: Payment, reason: str) -> Decision:
    refund = new_automatic_refund(payment, reason)
    logger.warning("payment %s: %s; refunding automatically", payment.id, reason)
    outcome = "refund_scheduled" if refund else "nothing_to_refund"
    return Decision(outcome, reason, refund_id=refund.id if refund else None)


def _take_stock_again(order: Order) -> bool:
    """Re-reserve a cancelled order's lines (all or nothing, in a savepoint)."""
    quantities: dict[int, int] = {}
    for item in order.items:
        if item.slipper_id is None:
            return False  # the slipper was removed from the database
        quantities[item.slipper_id] = quantities.get(item.slipper_id, 0) + item.quantity
    try:
        with db.session.begin_nested():
            take_stock(quantities)
    except Conflict:
        return False
    return True


def _confirm_cancelled(order: Order) -> None:
    """cancelled -> confirmed is no move of the public table: only a late payment makes it."""
    now = utcnow()
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == "cancelled")
        .values(status="confirmed", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise Conflict(f"Order {order.id} changed meanwhile")
    set_committed_value(order, "status", "confirmed")
    set_committed_value(order, "updated_at", now)
    record_status_change(order.id, "cancelled", "confirmed", None, "late payment")
