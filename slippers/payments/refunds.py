"""Refunds: reserved under the payment's row lock, sent to OCTO without a lock, then settled.

A refund intent is a Refund row with its own shop_refund_id, committed PENDING before OCTO is
called. While PENDING (and recent, see gateway.in_flight_window) its amount counts against
what may still be refunded, so two concurrent refunds can never add up to more than was
paid. A FAILED row, or a PENDING one abandoned by a crashed process, is retried with its
own shop_refund_id when the same amount is asked again (OCTO de-duplicates on it).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import select

from slippers.db_types import utcnow
from slippers.errors import Conflict, GatewayError, GatewayTimeout, NotFound, Unprocessable
from slippers.extensions import db
from slippers.orders.states import can_move, move_order
from slippers.orders.stock import return_stock
from slippers.payments.gateway import (
    decimal_setting,
    in_flight_window,
    new_reference,
    octo_client,
    storable,
)
from slippers.payments.models import Payment, Refund
from slippers.payments.octo_results import RefundResult, gateway_error
from slippers.payments.records import (
    lock_order,
    lock_payment,
    other_payment_paid,
    record_event,
    reserved_refunds,
)
from slippers.payments.statuses import (
    CLOSED_UNPAID,
    REFUND_FAILED,
    REFUND_PENDING,
    REFUND_SUCCEEDED,
)

logger = logging.getLogger(__name__)
ONE_USD = Decimal("1.00")


def refund_payment(
    admin, octo_payment_uuid: str, amount: Decimal | None, request_id: str | None
) -> int:
    """Refund `amount` (default: all that remains) of a PAID payment; returns its id."""
    payment_id, refund_id = _reserve(admin, octo_payment_uuid, amount)
    execute_refund(refund_id, request_id=request_id)
    return payment_id


def _reserve(admin, octo_payment_uuid: str, amount: Decimal | None) -> tuple[int, int]:
    """Check the amount against what remains, under the payment's lock; commit the intent."""
    try:
        payment_id = db.session.execute(
            select(Payment.id).where(Payment.octo_payment_uuid == octo_payment_uuid)
        ).scalar_one_or_none()
        if payment_id is None:
            raise NotFound("Payment not found")
        payment = lock_payment(payment_id)
        if payment.status == "REFUNDED":
            raise Conflict(f"Payment {payment.id} is already fully refunded")
        if payment.status != "PAID":
            raise Conflict(f"Payment {payment.id} is {payment.status}; only PAID can be refunded")
        now = utcnow()
        in_flight = reserved_refunds(payment.id, fresh_after=now - in_flight_window())
        remaining = payment.amount - payment.refunded_amount - in_flight
        if amount is None:
            if remaining <= 0:
                raise Conflict("Nothing is left to refund (a refund may be in progress)")
            amount = remaining
        _check_limits(payment, amount)
        if amount > remaining:
            raise Conflict(
                f"Refund of {amount} is more than the {max(remaining, Decimal(0))} that remains"
                + (" (refunds in progress count)" if in_flight else "")
            )
        refund = _retryable(payment.id, amount, now)
        if refund is None:
            refund = Refund(
                payment_id=payment.id,
                shop_refund_id=new_reference("rf", payment.id),
                amount=amount,
                status=REFUND_PENDING,
                created_by_user_id=admin.id,
            )
            db.session.add(refund)
        else:
            refund.status, refund.last_error, refund.updated_at = REFUND_PENDING, None, now
        db.session.commit()
        return payment.id, refund.id
    except Exception:
        db.session.rollback()
        raise


def _check_limits(payment: Payment, amount: Decimal) -> None:
    """OCTO's per-refund bounds, enforced here so a refused refund costs no gateway call."""
    if amount <= 0:
        raise Unprocessable("A refund must be positive", errors={"amount": ["Must be > 0."]})
    rate = decimal_setting("OCTO_USD_UZS_RATE")
    minimum = {"USD": ONE_USD, "UZS": rate}.get(payment.currency) if rate else None
    if minimum is not None and amount < minimum:
        raise Unprocessable(
            f"A refund must be at least 1 USD ({minimum:.2f} {payment.currency})",
            errors={"amount": [f"At least {minimum:.2f}."]},
        )
    maximum = decimal_setting("OCTO_MAX_REFUND_UZS")
    if payment.currency == "UZS" and maximum is not None and amount > maximum:
        raise Unprocessable(
            f"At most {maximum:.2f} UZS per refund; refund in several parts",
            errors={"amount": [f"At most {maximum:.2f}."]},
        )


def _retryable(payment_id: int, amount: Decimal, now) -> Refund | None:
    """A failed or abandoned refund of the same amount: retried with its own shop_refund_id."""
    candidates = db.session.execute(
        select(Refund)
        .where(Refund.payment_id == payment_id, Refund.amount == amount)
        .where(Refund.status.in_((REFUND_FAILED, REFUND_PENDING)))
        .order_by(Refund.id)
    ).scalars()
    abandoned_before = now - in_flight_window()
    for refund in candidates:
        if refund.status == REFUND_FAILED or refund.updated_at <= abandoned_before:
            return refund
    return None


def execute_refund(refund_id: int, *, request_id: str | None = None) -> None:
    """Send a PENDING refund to OCTO (no lock held) and settle it; failures mark it FAILED."""
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    payment = db.session.get(Payment, refund.payment_id, populate_existing=True)
    call = {
        "shop_refund_id": refund.shop_refund_id,
        "octo_payment_uuid": payment.octo_payment_uuid,
        "amount": refund.amount,
    }
    db.session.rollback()  # hold no transaction open during the HTTP call
    try:
        result = octo_client().refund(**call, request_id=request_id)
    except (GatewayError, GatewayTimeout) as exc:
        _mark_failed(refund_id, exc.message)
        raise
    if not result.succeeded:
        message = f"OCTO answered the refund with status {result.status!r}"
        _mark_failed(refund_id, message)
        raise gateway_error(message)
    _settle(refund_id, result)


def _mark_failed(refund_id: int, message: str) -> None:
    try:
        refund = db.session.get(Refund, refund_id, populate_existing=True, with_for_update=True)
        if refund.status == REFUND_PENDING:
            refund.status, refund.last_error = REFUND_FAILED, message[:500]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    logger.warning("refund %s failed: %s", refund_id, message)


def _settle(refund_id: int, result: RefundResult) -> None:
    """Count the refund; a full refund makes the payment REFUNDED and the order `refunded`."""
    try:
        refund = db.session.get(Refund, refund_id)
        payment = lock_payment(refund.payment_id)
        refund = db.session.get(Refund, refund_id, populate_existing=True)
        if refund.status == REFUND_SUCCEEDED:
            db.session.rollback()
            return  # a concurrent retry of the same intent settled it already
        refund.status, refund.last_error = REFUND_SUCCEEDED, None
        refund.octo_refund_id = (result.refund_id or "")[:64] or None
        payment.refunded_amount = payment.refunded_amount + refund.amount
        if payment.refunded_amount >= payment.amount and payment.status == "PAID":
            payment.status = "REFUNDED"
            _refund_order(payment, refund)
        record_event(
            payment.id,
            source="refund",
            octo_status=result.status,
            outcome="refunded",
            payload=storable(result.raw),
            note=f"{refund.shop_refund_id}: {refund.amount} {payment.currency}",
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _refund_order(payment: Payment, refund: Refund) -> None:
    """Move the order to `refunded` when this payment paid it; stock back if not shipped."""
    if other_payment_paid(payment):
        return
    order = lock_order(payment.order_id)
    if not can_move(order.status, "refunded", "payment"):
        return
    was_confirmed = order.status == "confirmed"
    move_order(
        order,
        "refunded",
        role="payment",
        actor_id=refund.created_by_user_id,
        reason=f"full refund of payment {payment.id}",
    )
    if was_confirmed:
        return_stock((item.slipper_id, item.quantity) for item in order.items)


# --- automatic refunds (money taken for nothing) -------------------------------------------


def new_automatic_refund(payment: Payment, reason: str) -> Refund | None:
    """Add a PENDING refund of all that remains, in the caller's transaction (lock held)."""
    remaining = payment.amount - payment.refunded_amount - reserved_refunds(payment.id)
    if remaining <= 0:
        return None
    refund = Refund(
        payment_id=payment.id,
        shop_refund_id=new_reference("rf", payment.id),
        amount=remaining,
        status=REFUND_PENDING,
        is_automatic=True,
        reason=reason[:200],
    )
    db.session.add(refund)
    db.session.flush()
    return refund


def run_automatic_refund(refund_id: int, request_id: str | None = None) -> bool:
    """Send an automatic refund; a failure is recorded and retried by reconciliation."""
    try:
        execute_refund(refund_id, request_id=request_id)
    except (GatewayError, GatewayTimeout) as exc:
        logger.error("automatic refund %s not done yet: %s", refund_id, exc.message)
        return False
    return True


def retry_automatic_refunds(request_id: str | None = None) -> tuple[int, int]:
    """Retry automatic refunds that failed or were abandoned; returns (tried, succeeded)."""
    abandoned_before = utcnow() - in_flight_window()
    ids = (
        db.session.execute(
            select(Refund.id)
            .where(Refund.is_automatic.is_(True))
            .where(
                (Refund.status == REFUND_FAILED)
                | ((Refund.status == REFUND_PENDING) & (Refund.updated_at <= abandoned_before))
            )
            .order_by(Refund.id)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    tried = succeeded = 0
    for refund_id in ids:
        if _claim_for_retry(refund_id):
            tried += 1
            succeeded += run_automatic_refund(refund_id, request_id)
    return tried, succeeded


def _claim_for_retry(refund_id: int) -> bool:
    """PENDING again (fresh), unless another runner has just claimed or settled it."""
    try:
        refund = db.session.get(Refund, refund_id)
        payment = lock_payment(refund.payment_id)
        refund = db.session.get(Refund, refund_id, populate_existing=True)
        now = utcnow()
        fresh = refund.status == REFUND_PENDING and refund.updated_at > now - in_flight_window()
        allowed = payment.status == "PAID" or payment.status in CLOSED_UNPAID
        if refund.status == REFUND_SUCCEEDED or fresh or not allowed:
            db.session.rollback()
            return False
        refund.status, refund.updated_at = REFUND_PENDING, now
        db.session.commit()
        return True
    except Exception:
        db.session.rollback()
        raise
