"""The app's one OCTO client, and turning our records into what OCTO is sent."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app

from slippers.payments.octo import OctoClient

logger = logging.getLogger(__name__)

_CLIENT_SETTINGS = (
    "OCTO_API_BASE",
    "OCTO_SHOP_ID",
    "OCTO_SECRET",
    "OCTO_TIMEOUT_SEC",
    "OCTO_CONNECT_TIMEOUT_SEC",
    "OCTO_RETRIES",
    "OCTO_EXTRA_PARAMS",
)
_client_lock = threading.Lock()
MAX_STORED_PAYLOAD = 16 * 1024
MAX_PAYLOAD_DEPTH = 20


def octo_client() -> OctoClient:
    """The app's OCTO client (one pooled session per app), rebuilt if its settings change."""
    app = current_app._get_current_object()
    values = [app.config.get(name) for name in _CLIENT_SETTINGS]
    fingerprint = hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()
    with _client_lock:
        client = app.extensions.get("octo_client")
        if client is None or app.extensions.get("octo_client_settings") != fingerprint:
            client = OctoClient.from_config(app.config)
            app.extensions["octo_client"] = client
            app.extensions["octo_client_settings"] = fingerprint
        return client


def new_reference(prefix: str, record_id: int) -> str:
    """An id we send OCTO (shop_transaction_id / shop_refund_id): unique and unguessable."""
    return f"{prefix}-{record_id}-{secrets.token_urlsafe(16)}"  # at most ~40 characters


def describe_order(order_id: int) -> str:
    """OCTO_DESCRIPTION with `{order_id}` filled in; a broken template is used as text."""
    template = current_app.config["OCTO_DESCRIPTION"] or "Order #{order_id}"
    try:
        return template.format(order_id=order_id)
    except (KeyError, IndexError, ValueError):
        logger.warning("OCTO_DESCRIPTION is not a valid template; sent with the order id added")
        return f"{template} #{order_id}"


def url_for_order(setting: str, order_id: int) -> str:
    """A configured URL; a literal `{order_id}` in it is replaced by the order's id."""
    return current_app.config[setting].replace("{order_id}", str(order_id))


def user_data_for(user) -> dict[str, Any]:
    """OCTO's user_data; a None value makes the client leave the whole block out."""
    return {"user_id": str(user.id), "phone": user.phone_number, "email": user.email}


def basket_for(items) -> list[dict[str, Any]]:
    return [
        {
            "position_desc": f"{item.name} (size {item.size})",
            "count": item.quantity,
            "price": item.unit_price,
        }
        for item in items
    ]


def ttl_minutes() -> int | None:
    ttl = current_app.config.get("OCTO_TTL_MINUTES")
    return int(ttl) if ttl and int(ttl) > 0 else None


def in_flight_window() -> timedelta:
    """How long a call to OCTO can still be running: older claims count as abandoned."""
    config = current_app.config
    seconds = 2 * (float(config["OCTO_TIMEOUT_SEC"]) + float(config["OCTO_CONNECT_TIMEOUT_SEC"]))
    return timedelta(seconds=seconds + 30)


def decimal_setting(name: str) -> Decimal | None:
    """A decimal setting (a string in config.py); unset or unreadable is None (logged)."""
    raw = current_app.config.get(name)
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        logger.warning("%s=%r is not a number; ignored", name, raw)
        return None
    if not value.is_finite() or value <= 0:
        logger.warning("%s=%r is not a positive number; ignored", name, raw)
        return None
    return value


def parse_amount(value: Any) -> Decimal | None:
    """An amount from a callback (number or string), or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def clean_text(value: Any, max_len: int) -> str | None:
    """A short printable string (for indexed columns), or None."""
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if ch.isprintable()).strip()
    return text[:max_len] or None


def storable(value: Any, depth: int = 0) -> Any:
    """A JSON-column-safe copy: exact Decimals as strings, no NUL characters, bounded depth."""
    if depth > MAX_PAYLOAD_DEPTH:
        return "(nested too deep)"
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, str):
        return _valid_text(value)
    if isinstance(value, dict):
        return {_valid_text(str(k)): storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item, depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int)):
        return value
    return str(value)


def _valid_text(text: str) -> str:
    """No NUL and no lone surrogates: PostgreSQL refuses both inside JSON."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def storable_payload(payload: Any, raw_text: str) -> dict:
    """What a PaymentEvent keeps: the parsed object, or the raw text when it is not one/huge."""
    if isinstance(payload, dict) and len(raw_text) <= MAX_STORED_PAYLOAD:
        return storable(payload)
    return {"_raw": _valid_text(raw_text[:MAX_STORED_PAYLOAD])}
