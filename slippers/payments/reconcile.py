"""Reconciliation: ask OCTO about payments still open and apply the answer like a callback.

Safe on several hosts at once. Each candidate is claimed in a short transaction (on
PostgreSQL `FOR UPDATE SKIP LOCKED`, so runners never wait on each other's rows) that sets
`reconcile_claimed_until`; other runners skip a claimed payment until the claim ends, and
no database lock is held during the HTTP call. The answer is applied by apply.py, which
locks the payment again and re-checks it, so even two runners on one payment apply once.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from slippers.db_types import utcnow
from slippers.errors import GatewayError, GatewayTimeout
from slippers.extensions import db
from slippers.payments.apply import apply_octo_status
from slippers.payments.gateway import in_flight_window, octo_client, storable
from slippers.payments.models import Payment
from slippers.payments.records import lock_payment, record_event
from slippers.payments.refunds import retry_automatic_refunds
from slippers.payments.statuses import OPEN_STATUSES, UNPAID_OCTO_STATUSES

logger = logging.getLogger(__name__)
UNKNOWN_PAYMENT_CODE = 1  # OCTO's "data format error", also its answer for an unknown id
RESULTS = {"PAID": "paid", "REFUNDED": "refunded", "CANCELLED": "cancelled", "FAILED": "failed"}


def reconcile_open_payments(after_minutes: int) -> str:
    """Check every payment open for longer than `after_minutes` (0: all); a summary line."""
    cutoff = utcnow() - timedelta(minutes=max(int(after_minutes), 0))
    counts: Counter[str] = Counter()
    last_id = 0
    while (payment_id := _claim_next(cutoff, last_id)) is not None:
        last_id = payment_id
        counts[reconcile_payment(payment_id)] += 1
    tried, refunded = retry_automatic_refunds()
    checked = sum(counts.values())
    parts = ", ".join(f"{counts[k]} {k}" for k in (*RESULTS.values(), "open", "error"))
    return (
        f"Checked {checked} open payment(s): {parts}; "
        f"automatic refunds retried: {tried}, done: {refunded}."
    )


def _claim_next(cutoff, last_id: int) -> int | None:
    now = utcnow()
    stmt = (
        select(Payment.id)
        .where(
            Payment.status.in_(OPEN_STATUSES),
            Payment.created_at <= cutoff,
            Payment.id > last_id,
            or_(
                Payment.reconcile_claimed_until.is_(None),
                Payment.reconcile_claimed_until < now,
            ),
        )
        .order_by(Payment.id)
        .limit(1)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    try:
        payment_id = db.session.execute(stmt).scalar_one_or_none()
        if payment_id is not None:
            _set_claim(payment_id, now + in_flight_window())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return payment_id


def _set_claim(payment_id: int, until) -> None:
    # updated_at is set to itself: a claim is bookkeeping, not a change of the payment.
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment_id)
        .values(reconcile_claimed_until=until, updated_at=Payment.updated_at)
        .execution_options(synchronize_session=False)
    )


def reconcile_payment(payment_id: int, request_id: str | None = None) -> str:
    """Ask OCTO about one payment and apply the answer; returns paid/cancelled/.../error."""
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    reference, created_at = payment.shop_transaction_id, payment.created_at
    db.session.rollback()  # no transaction open during the HTTP call
    try:
        answer = octo_client().check_status(reference, request_id=request_id)
    except (GatewayError, GatewayTimeout) as exc:
        if getattr(exc, "octo_code", None) == UNKNOWN_PAYMENT_CODE:
            _close(payment_id, "unknown_to_octo", f"OCTO does not know it: {exc.message}")
        else:
            _note_error(payment_id, exc.message)
        return _result(payment_id, error=getattr(exc, "octo_code", None) != UNKNOWN_PAYMENT_CODE)
    attach = (answer.octo_payment_uuid, answer.octo_pay_url) if answer.octo_payment_uuid else None
    applied = apply_octo_status(
        payment_id,
        answer.status,
        source="reconcile",
        payload=storable(answer.raw),
        total_sum=answer.total_sum,
        attach=attach,
        request_id=request_id,
    )
    ttl = current_app.config.get("OCTO_TTL_MINUTES") or 0
    expired = ttl > 0 and created_at <= utcnow() - timedelta(minutes=ttl)
    if applied.status in OPEN_STATUSES and expired and answer.status in UNPAID_OCTO_STATUSES:
        _close(payment_id, "expired", f"not paid within OCTO_TTL_MINUTES ({ttl})")
    return _result(payment_id)


def _close(payment_id: int, outcome: str, note: str) -> None:
    """CANCELLED, if it is still open once locked."""
    try:
        payment = lock_payment(payment_id)
        if payment.status in OPEN_STATUSES:
            payment.status, payment.last_error = "CANCELLED", note[:500]
            payment.reconcile_claimed_until = None
            record_event(
                payment.id,
                source="reconcile",
                octo_status=payment.octo_status,
                outcome=outcome,
                payload={"closed": note},
                note=note,
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _note_error(payment_id: int, message: str) -> None:
    logger.warning("reconcile: payment %s not checked: %s", payment_id, message)
    try:
        payment = lock_payment(payment_id)
        payment.last_error = f"status check failed: {message}"[:500]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _result(payment_id: int, *, error: bool = False) -> str:
    """Release the claim and name what became of the payment."""
    try:
        _set_claim(payment_id, None)
        status = db.session.execute(
            select(Payment.status).where(Payment.id == payment_id)
        ).scalar_one()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if error:
        return "error"
    return RESULTS.get(status, "open")
