"""Callbacks from the sandbox to the shop's notify_url, shaped and signed like OCTO's."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from decimal import Decimal
from typing import Any

import requests

from slippers.octo_sim.state import FINAL_STATUSES, CallbackMode, Payment, SimState
from slippers.payments.octo_protocol import CENT, compute_signature, dumps_json

COMMISSION = Decimal("0.02")  # what the sandbox keeps, so transfer_sum differs from total_sum
MAX_RECORDED_BODY = 4000


def build_payload(
    state: SimState,
    payment: Payment,
    status: str,
    *,
    total_sum: Decimal | None = None,
    bad_signature: bool = False,
) -> dict[str, Any]:
    """The callback body; the signature covers only the UUID and the status, as OCTO's does."""
    key = state.settings.unique_key
    if bad_signature:
        key = f"not-{key}"
    with state.lock:
        total = payment.total_sum
        return {
            "shop_transaction_id": payment.shop_transaction_id,
            "octo_payment_UUID": payment.octo_payment_uuid,
            "status": status,
            "signature": compute_signature(key, payment.octo_payment_uuid, status),
            "hash_key": secrets.token_hex(16),
            "total_sum": total if total_sum is None else total_sum,
            "transfer_sum": (total * (1 - COMMISSION)).quantize(CENT),
            "refunded_sum": payment.refunded_sum,
            "card_country": payment.card_country,
            "maskedPan": payment.masked_pan,
            "rrn": payment.rrn,
            "riskLevel": 0,
            "payed_time": payment.payed_time,
            "card_type": payment.card_type,
            "currency": payment.currency,
            "is_physical_card": True,
        }


def deliver(state: SimState, payment: Payment, payload: dict[str, Any], kind: str) -> dict:
    """POST one callback and record the attempt with the shop's answer."""
    entry: dict[str, Any] = {
        "kind": kind,
        "octo_payment_UUID": payment.octo_payment_uuid,
        "status": payload["status"],
        "url": payment.notify_url,
        "payload": payload,
        "status_code": None,
        "response_body": None,
        "error": None,
    }
    try:
        response = requests.post(
            payment.notify_url,
            data=dumps_json(payload).encode(),
            headers={"Content-Type": "application/json"},
            timeout=state.settings.callback_timeout_sec,
        )
        entry["status_code"] = response.status_code
        entry["response_body"] = response.text[:MAX_RECORDED_BODY]
    except requests.RequestException as exc:
        entry["error"] = f"{type(exc).__name__}: {exc}"
    return state.record_callback(entry)


def send_one(
    state: SimState,
    payment: Payment,
    status: str,
    *,
    total_sum: Decimal | None = None,
    bad_signature: bool = False,
) -> dict:
    """One callback on demand (control API); the payment itself is not changed."""
    payload = build_payload(
        state, payment, status, total_sum=total_sum, bad_signature=bad_signature
    )
    return deliver(state, payment, payload, "manual")


def notify_status_change(
    state: SimState, payment_uuid: str, *, force_async: bool = False
) -> list[dict]:
    """Tell the shop about the payment's current status, as /_sim/callback-mode says.

    Returns the delivery records, or [] when delivery runs in a background thread.
    """
    with state.lock:
        mode = replace(state.callback_mode)
    if mode.run_async or force_async:
        state.start_thread(lambda: _run_guarded(state, payment_uuid, mode))
        return []
    return _run(state, payment_uuid, mode)


def _run_guarded(state: SimState, payment_uuid: str, mode: CallbackMode) -> None:
    """A background thread must never die with an exception: record it instead."""
    try:
        _run(state, payment_uuid, mode)
    except Exception as exc:  # noqa: BLE001 - the log is the sandbox's error channel
        state.record_callback(
            {"kind": "error", "octo_payment_UUID": payment_uuid, "error": repr(exc)}
        )


def _run(state: SimState, payment_uuid: str, mode: CallbackMode) -> list[dict]:
    payment = state.get_payment(payment_uuid)
    if payment is None:
        return []
    with state.lock:
        status = payment.status
    records = _deliver_status(state, payment, status, mode)
    if status == "waiting_for_capture":
        # Two-stage: the shop may answer the hold with {"accept_status": "capture"|"cancel"}.
        decision = _accept_decision(records)
        target = {"capture": "succeeded", "cancel": "canceled"}.get(decision or "")
        if target and state.move_status(payment, {"waiting_for_capture"}, target):
            records += _deliver_status(state, payment, target, mode)
            status = target
    if status in FINAL_STATUSES and mode.out_of_order and not state.stopping.is_set():
        stale = build_payload(state, payment, "created")
        records.append(deliver(state, payment, stale, "stale"))
    return records


def _deliver_status(
    state: SimState, payment: Payment, status: str, mode: CallbackMode
) -> list[dict]:
    records = []
    for attempt in range(max(1, mode.repeat)):
        state.sleep(mode.delay_sec)
        if state.stopping.is_set():
            break
        payload = build_payload(state, payment, status, bad_signature=mode.bad_signature)
        records.append(deliver(state, payment, payload, "repeat" if attempt else "status"))
    return records


def _accept_decision(records: list[dict]) -> str | None:
    for record in records:
        try:
            answer = json.loads(record.get("response_body") or "")
        except ValueError:
            continue
        if isinstance(answer, dict) and answer.get("accept_status") in {"capture", "cancel"}:
            return answer["accept_status"]
    return None
