"""OCTO's callback: every raw message is kept; only a signed one about a known payment acts.

Refusals, in this order (each stores the event, then answers in the error shape):
not a JSON object -> 400; no OCTO_UNIQUE_KEY configured -> 403 (unless the development
switch OCTO_ALLOW_UNSIGNED_CALLBACKS is on); missing or wrong signature -> 401; unknown
payment (or a shop_transaction_id that is not the payment's) -> 404. The signature is
checked before the payment is looked up for the answer, so a forger learns nothing about
which payments exist. Everything else answers 200 so OCTO stops retrying, including an
amount that disagrees with ours (recorded as `amount_mismatch`, payment not marked paid).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from slippers.errors import AppError, BadRequest, Forbidden, NotFound, Unauthorized
from slippers.extensions import db
from slippers.payments.apply import apply_octo_status
from slippers.payments.gateway import storable_payload
from slippers.payments.models import Payment
from slippers.payments.octo_protocol import verify_signature
from slippers.payments.records import record_event

logger = logging.getLogger(__name__)
MAX_ID_LENGTH = 64


def handle_callback(raw: bytes, request_id: str | None = None) -> dict:
    """Check and apply one callback; returns the JSON answer for OCTO."""
    text = raw.decode("utf-8", errors="replace")
    payload = parse_callback(raw)
    stored = storable_payload(payload, text)
    if not isinstance(payload, dict):
        _refuse(None, stored, None, "bad_request", BadRequest("The body must be a JSON object"))
    payment_id, mismatch = _find_payment(payload)
    status = payload.get("status")
    key = current_app.config["OCTO_UNIQUE_KEY"]
    if not key and not current_app.config["OCTO_ALLOW_UNSIGNED_CALLBACKS"]:
        error = Forbidden("Callbacks are refused: no OCTO_UNIQUE_KEY is configured")
        _refuse(payment_id, stored, status, "refused_no_key", error)
    signature_valid = verify_signature(key, payload) if key else None
    if signature_valid is False:
        _refuse(payment_id, stored, status, "bad_signature", Unauthorized("Invalid signature"))
    if payment_id is None or mismatch:
        note = "shop_transaction_id does not match the payment" if mismatch else None
        error = NotFound("Unknown payment")
        _refuse(payment_id, stored, status, "unknown_payment", error, note, signature_valid)
    applied = apply_octo_status(
        payment_id,
        status,
        source="callback",
        payload=stored,
        signature_valid=signature_valid,
        total_sum=payload.get("total_sum"),
        currency=payload.get("currency"),
        request_id=request_id,
    )
    return applied.answer


def parse_callback(raw: bytes) -> Any:
    """The JSON body (amounts as exact Decimals), or None when it is not JSON at all."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _find_payment(payload: dict) -> tuple[int | None, bool]:
    """(payment id by octo_payment_UUID, whether a given shop_transaction_id disagrees)."""
    uuid = payload.get("octo_payment_UUID")
    if not _is_id(uuid):
        return None, False
    row = db.session.execute(
        select(Payment.id, Payment.shop_transaction_id).where(Payment.octo_payment_uuid == uuid)
    ).first()
    db.session.rollback()  # end the read: applying re-reads under a lock
    if row is None:
        return None, False
    reference = payload.get("shop_transaction_id")
    mismatch = reference is not None and reference != row.shop_transaction_id
    return row.id, mismatch


def _is_id(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_LENGTH
        and value.isprintable()
        and value.isascii()
    )


def _refuse(
    payment_id: int | None,
    stored: dict,
    status: Any,
    outcome: str,
    error: AppError,
    note: str | None = None,
    signature_valid: bool | None = None,
) -> None:
    """Keep the refused callback, then raise `error`; nothing else changes."""
    try:
        record_event(
            payment_id,
            source="callback",
            octo_status=status,
            outcome=outcome,
            payload=stored,
            signature_valid=False if outcome == "bad_signature" else signature_valid,
            note=note or error.message,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    logger.warning("octo callback refused (%s) for payment %s", outcome, payment_id)
    raise error
