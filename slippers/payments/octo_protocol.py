"""What OCTO's protocol fixes, shared by the client (octo.py) and the sandbox (octo_sim).

The callback signature, money as exact JSON numbers, and init_time in Tashkent time. Money
goes out as JSON numbers with exactly two decimals, written from the Decimal's own text
(`dumps_json`), never through float.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

# Asia/Tashkent has had no DST since 1992: a fixed offset needs no tz database.
TASHKENT = timezone(timedelta(hours=5), "Asia/Tashkent")
INIT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CENT = Decimal("0.01")


# --- signature ---------------------------------------------------------------------------


def compute_signature(unique_key: str, octo_payment_uuid: str, status: str) -> str:
    """OCTO's callback signature: upper-case hex SHA1(unique_key + octo_payment_UUID + status)."""
    raw = f"{unique_key}{octo_payment_uuid}{status}".encode()
    return hashlib.sha1(raw).hexdigest().upper()  # noqa: S324 - OCTO's protocol fixes SHA1


def verify_signature(unique_key: str, payload: Mapping[str, Any]) -> bool:
    """True when the callback's signature matches; any case, constant-time, never without a key."""
    if not unique_key:
        return False
    signature = payload.get("signature")
    uuid = payload.get("octo_payment_UUID")
    status = payload.get("status")
    if not all(isinstance(value, str) and value for value in (signature, uuid, status)):
        return False
    expected = compute_signature(unique_key, uuid, status)
    return hmac.compare_digest(expected.encode(), signature.strip().upper().encode())


# --- money and JSON ------------------------------------------------------------------------


def to_money(value: Decimal | int | str) -> Decimal:
    """A finite amount with at most two decimals, as a Decimal; floats are refused."""
    if isinstance(value, (bool, float)):
        raise TypeError("money must be a Decimal, int or str, never a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    if amount.quantize(CENT) != amount:
        raise ValueError(f"amount has more than two decimals: {value!r}")
    return amount.quantize(CENT)


def _decimal_literal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot send {value!r} as JSON")
    if value == value.quantize(CENT):
        return format(value.quantize(CENT), "f")
    return format(value, "f")


def dumps_json(obj: Any) -> str:
    """JSON text in which every Decimal is an exact JSON number (money with two decimals).

    The json module can only write Decimals through float, which may round. So each Decimal
    is first replaced by a unique placeholder string, and the quoted placeholder is then
    swapped for the Decimal's exact text: no float ever touches an amount.
    """
    nonce = secrets.token_hex(8)
    literals: dict[str, str] = {}

    def swap(value: Any) -> Any:
        if isinstance(value, Decimal):
            token = f"@@decimal-{nonce}-{len(literals)}@@"
            literals[json.dumps(token)] = _decimal_literal(value)
            return token
        if isinstance(value, Mapping):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [swap(item) for item in value]
        return value

    text = json.dumps(swap(obj))
    for quoted, literal in literals.items():
        text = text.replace(quoted, literal)
    return text


def format_init_time(moment: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` in Tashkent time, from an aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("init_time must be timezone-aware")
    return moment.astimezone(TASHKENT).strftime(INIT_TIME_FORMAT)
