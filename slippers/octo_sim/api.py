"""The sandbox's copy of OCTO's merchant API: /prepare_payment, /refund, /set_accept."""

from __future__ import annotations

import hmac
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, request

from slippers.octo_sim import callbacks
from slippers.octo_sim.state import Payment, SimSettings
from slippers.octo_sim.web import SimError, error_body, json_response, request_json, sim_state
from slippers.payments.octo_protocol import INIT_TIME_FORMAT

bp = Blueprint("octo_api", __name__)

API_PATHS = ("/prepare_payment", "/refund", "/set_accept")
STATUS_CHECK_KEYS = frozenset({"octo_shop_id", "octo_secret", "shop_transaction_id"})
CURRENCIES = frozenset({"UZS", "USD", "RUB"})
LANGUAGES = frozenset({"uz", "ru", "en"})
PAYMENT_METHODS = frozenset({"bank_card", "uzcard", "humo"})
USER_DATA_KEYS = frozenset({"user_id", "phone", "email"})
MAX_REFUND_UZS = Decimal("10000000")
ERR_FORMAT, ERR_AUTH, ERR_REFUND = 1, 2, 3
# OCTO documents only codes 1-3, so every refusal of the sandbox maps onto one of them.

BROKEN_HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"


@bp.before_request
def apply_fault() -> Response | None:
    """Misbehave as the /_sim/faults knob asks, for the next matching calls."""
    state = sim_state()
    fault = state.take_fault(request.path)
    if fault is None:
        return None
    if fault.mode == "error":
        return json_response(error_body(fault.error_code, fault.message, fault.message_fields))
    if fault.mode == "http500":
        return Response(BROKEN_HTML, status=500, mimetype="text/html")
    if fault.mode == "nonjson":
        return Response(BROKEN_HTML, status=200, mimetype="text/html")
    state.sleep(fault.delay_sec)  # "timeout": answer normally, but too late
    return None


@bp.post("/prepare_payment")
def prepare_payment() -> Response:
    state = sim_state()
    body = _json_object()
    _check_credentials(body, state.settings)
    if set(body) <= STATUS_CHECK_KEYS:
        reference = _text(body, "shop_transaction_id")
        payment = state.find_by_transaction(reference)
        if payment is None:
            raise SimError(ERR_FORMAT, f"payment with shop_transaction_id {reference} not found")
        return _ok(_payment_data(payment), "payment status")
    payment, created = state.create_payment(_payment_values(body))
    return _ok(_payment_data(payment), "payment created" if created else "payment already exists")


@bp.post("/refund")
def refund() -> Response:
    state = sim_state()
    body = _json_object()
    _check_credentials(body, state.settings)
    shop_refund_id = _text(body, "shop_refund_id")
    payment_uuid = _text(body, "octo_payment_UUID")
    amount = _number(body, "amount")
    with state.lock:
        existing = state.refunds.get(shop_refund_id)
        if existing is None:
            payment = state.get_payment(payment_uuid)
            if payment is None:
                raise SimError(ERR_FORMAT, f"payment {payment_uuid} not found")
            _check_refund(payment, amount)
            existing = state.add_refund(payment, shop_refund_id, amount)
    if state.response_shape == "flat":
        return json_response({"error": 0, "status": "ok"})
    data = {
        "octo_payment_UUID": existing.octo_payment_uuid,
        "refund_id": existing.refund_id,
        "refund_time": existing.refund_time,
        "status": existing.status,
    }
    return json_response({"error": 0, "data": data, "apiMessageForDevelopers": "refund"})


@bp.post("/set_accept")
def set_accept() -> Response:
    """Capture or cancel a held payment; OCTO then notifies the shop in the background."""
    state = sim_state()
    body = _json_object()
    _check_credentials(body, state.settings)
    payment = state.get_payment(_text(body, "octo_payment_UUID"))
    if payment is None:
        raise SimError(ERR_FORMAT, "payment not found")
    accept_status = _text(body, "accept_status")
    if accept_status not in {"capture", "cancel"}:
        raise SimError(ERR_FORMAT, "accept_status must be capture or cancel")
    final_amount = _number(body, "final_amount")
    target = "succeeded" if accept_status == "capture" else "canceled"
    with state.lock:
        changed = payment.status != target
        if changed:
            if payment.status != "waiting_for_capture":
                raise SimError(ERR_FORMAT, f"payment is {payment.status}, not waiting_for_capture")
            if target == "succeeded" and not Decimal(0) < final_amount <= payment.total_sum:
                raise SimError(ERR_FORMAT, "final_amount must be positive and at most total_sum")
            if target == "succeeded":
                payment.total_sum = final_amount
            state.set_status(payment, target)
        data = {"octo_payment_UUID": payment.octo_payment_uuid, "status": payment.status}
    if changed:
        callbacks.notify_status_change(state, payment.octo_payment_uuid, force_async=True)
    return _ok(data, "accepted")


# --- validation ----------------------------------------------------------------------------


def _json_object() -> dict[str, Any]:
    body = request_json()
    if not isinstance(body, dict):
        raise SimError(ERR_FORMAT, "data format error: body must be a JSON object")
    return body


def _check_credentials(body: dict[str, Any], settings: SimSettings) -> None:
    shop_id = body.get("octo_shop_id")
    secret = body.get("octo_secret")
    good_id = isinstance(shop_id, int) and not isinstance(shop_id, bool)
    if not (good_id and shop_id == settings.shop_id and isinstance(secret, str)):
        raise SimError(ERR_AUTH, "wrong octo_shop_id or octo_secret")
    if not hmac.compare_digest(secret.encode(), settings.secret.encode()):
        raise SimError(ERR_AUTH, "wrong octo_shop_id or octo_secret")


def _text(body: dict[str, Any], key: str, *, required: bool = True, max_len: int = 2048) -> Any:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise SimError(ERR_FORMAT, f"data format error: {key} must be a non-empty string")
    return value


def _number(body: dict[str, Any], key: str) -> Decimal:
    """A JSON number with at most two decimals (strings and booleans are refused)."""
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise SimError(ERR_FORMAT, f"data format error: {key} must be a number")
    amount = Decimal(value)
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise SimError(ERR_FORMAT, f"data format error: {key} must have at most two decimals")
    return amount


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise SimError(ERR_FORMAT, f"data format error: {key} must be true or false")
    return value


def _url(body: dict[str, Any], key: str) -> str:
    value = _text(body, key)
    if not value.startswith(("http://", "https://")):
        raise SimError(ERR_FORMAT, f"data format error: {key} must be an http(s) URL")
    return value


def _payment_values(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a create call the way OCTO does; any problem is error 1."""
    total_sum = _number(body, "total_sum")
    if total_sum <= 0:
        raise SimError(ERR_FORMAT, "data format error: total_sum must be positive")
    currency = _text(body, "currency")
    if currency not in CURRENCIES:
        raise SimError(ERR_FORMAT, f"data format error: unsupported currency {currency}")
    init_time = _text(body, "init_time")
    try:
        datetime.strptime(init_time, INIT_TIME_FORMAT)
    except ValueError:
        raise SimError(ERR_FORMAT, "data format error: init_time must be Y-m-d H:M:S") from None
    language = _text(body, "language", required=False) or "uz"
    if language not in LANGUAGES:
        raise SimError(ERR_FORMAT, f"data format error: unsupported language {language}")
    ttl = body.get("ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
        raise SimError(ERR_FORMAT, "data format error: ttl must be a positive integer")
    return {
        "shop_transaction_id": _text(body, "shop_transaction_id", max_len=255),
        "total_sum": total_sum,
        "currency": currency,
        "description": _text(body, "description"),
        "return_url": _url(body, "return_url"),
        "notify_url": _url(body, "notify_url"),
        "language": language,
        "auto_capture": _flag(body, "auto_capture"),
        "test": _flag(body, "test"),
        "init_time": init_time,
        "ttl": ttl,
        "user_data": _user_data(body.get("user_data")),
        "basket": _basket(body.get("basket")),
        **_payment_methods(body.get("payment_methods")),
    }


def _user_data(value: Any) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= USER_DATA_KEYS:
        raise SimError(ERR_FORMAT, "data format error: user_data has unknown fields")
    if any(item is None for item in value.values()):
        raise SimError(ERR_FORMAT, "data format error: user_data values may not be null")
    return value


def _basket(value: Any) -> list | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise SimError(ERR_FORMAT, "data format error: basket must be a list")
    for line in value:
        if not isinstance(line, dict):
            raise SimError(ERR_FORMAT, "data format error: basket lines must be objects")
        _text(line, "position_desc")
        count = line.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise SimError(ERR_FORMAT, "data format error: basket count must be positive")
        if _number(line, "price") < 0:
            raise SimError(ERR_FORMAT, "data format error: basket price must not be negative")
    return value


def _payment_methods(value: Any) -> dict[str, Any]:
    """Checked, then not stored: the sandbox's page offers one fake card whatever is asked."""
    if value is None:
        return {}
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and item.get("method") in PAYMENT_METHODS for item in value
    ):
        raise SimError(ERR_FORMAT, "data format error: invalid payment_methods")
    return {}


def _check_refund(payment: Payment, amount: Decimal) -> None:
    """OCTO's refund rules; the caller holds the state lock.

    OCTO.md does not say whether a full refund changes the payment's status, so the sandbox
    keeps it `succeeded` and tracks `refunded_sum`; the shop decides REFUNDED from the sums.
    """
    if payment.status != "succeeded":
        raise SimError(ERR_REFUND, f"refund refused: payment is {payment.status}, not succeeded")
    if amount <= 0 or payment.refunded_sum + amount > payment.total_sum:
        raise SimError(ERR_REFUND, "invalid refund amount")
    # The per-refund cap is in so'm; OCTO states no cap for USD or RUB payments.
    if payment.currency == "UZS" and amount > MAX_REFUND_UZS:
        raise SimError(ERR_REFUND, "invalid refund amount: at most 10000000 UZS per refund")


def _payment_data(payment: Payment) -> dict[str, Any]:
    return {
        "shop_transaction_id": payment.shop_transaction_id,
        "octo_payment_UUID": payment.octo_payment_uuid,
        "status": payment.status,
        "octo_pay_url": f"{sim_state().settings.public_base_url}/pay/{payment.octo_payment_uuid}",
        "total_sum": payment.total_sum,
        "refunded_sum": payment.refunded_sum,
    }


def _ok(data: dict[str, Any], message: str) -> Response:
    if sim_state().response_shape == "flat":
        return json_response({"error": 0, **data})
    return json_response({"error": 0, "data": data, "apiMessageForDevelopers": message})
