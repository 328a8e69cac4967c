"""What an OCTO call gives back: typed results read from its answers, or a GatewayError.

Answers are decoded with `parse_float=Decimal`, so amounts stay exact. The HTTP side
(sending, timeouts, retries) is the client's, in octo.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from slippers.errors import GatewayError, GatewayTimeout

_MESSAGE_KEYS = ("errMessage", "errorMessage", "apiMessageForDevelopers")


# --- errors --------------------------------------------------------------------------------


def gateway_error(message: str, octo_code: int | None = None) -> GatewayError:
    """A GatewayError carrying OCTO's error code (None for transport problems)."""
    error = GatewayError(message)
    error.octo_code = octo_code
    return error


def gateway_timeout(message: str) -> GatewayTimeout:
    """A GatewayTimeout; its octo_code is None, as OCTO gave no answer to take one from."""
    error = GatewayTimeout(message)
    error.octo_code = None
    return error


def _octo_message(body: Mapping[str, Any]) -> str | None:
    for key in _MESSAGE_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


# --- answers -------------------------------------------------------------------------------


def read_body(response: requests.Response, path: str) -> dict:
    """Decode OCTO's JSON object (amounts as exact Decimals); refuse 4xx and non-JSON."""
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        body = None
    if response.status_code != 200:
        message = _octo_message(body) if isinstance(body, Mapping) else None
        detail = f": {message}" if message else ""
        raise gateway_error(f"OCTO {path} answered HTTP {response.status_code}{detail}")
    if not isinstance(body, dict):
        raise gateway_error(f"OCTO {path} answered with something that is not a JSON object")
    return body


def check_business_error(body: Mapping[str, Any], path: str) -> None:
    if "error" not in body:
        raise gateway_error(f"OCTO {path} answer has no 'error' field")
    try:
        code = int(body["error"])
    except (TypeError, ValueError):
        raise gateway_error(f"OCTO {path} answered an unreadable error code") from None
    if code != 0:
        raise gateway_error(_octo_message(body) or f"OCTO error {code}", octo_code=code)


class _Fields:
    """Reads a field from `data` first, then from the top level (older OCTO answers)."""

    def __init__(self, body: Mapping[str, Any], path: str) -> None:
        data = body.get("data")
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        self.body = body
        self.path = path

    def get(self, key: str) -> Any:
        value = self.data.get(key)
        return value if value is not None else self.body.get(key)

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
        if required:
            raise gateway_error(f"OCTO {self.path} answer is missing '{key}'")
        return None

    def status(self) -> str:
        return str(self.text("status")).lower()

    def money(self, key: str, *, default: Decimal | None = None) -> Decimal | None:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            raise gateway_error(f"OCTO {self.path} answer has an invalid '{key}'")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise gateway_error(f"OCTO {self.path} answer has an invalid '{key}'") from None
        if not amount.is_finite():
            raise gateway_error(f"OCTO {self.path} answer has an invalid '{key}'")
        return amount


def _payment_fields(body: dict, shop_transaction_id: str, *, new: bool) -> dict[str, Any]:
    """The fields of a /prepare_payment answer, for a new payment or a status check."""
    fields = _Fields(body, "/prepare_payment")
    return {
        "shop_transaction_id": fields.text("shop_transaction_id", required=False)
        or shop_transaction_id,
        "octo_payment_uuid": fields.text("octo_payment_UUID", required=new),
        "status": fields.status(),
        "octo_pay_url": fields.text("octo_pay_url", required=new),
        "total_sum": fields.money("total_sum"),
        "refunded_sum": fields.money("refunded_sum", default=Decimal("0.00")),
        "raw": body,
    }


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedPayment:
    shop_transaction_id: str
    octo_payment_uuid: str
    status: str
    octo_pay_url: str
    total_sum: Decimal | None
    refunded_sum: Decimal
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_body(cls, body: dict, shop_transaction_id: str) -> PreparedPayment:
        """A new payment needs its UUID and pay URL: without them the answer is refused."""
        return cls(**_payment_fields(body, shop_transaction_id, new=True))


@dataclass(frozen=True)
class PaymentStatus:
    shop_transaction_id: str
    octo_payment_uuid: str | None
    status: str
    total_sum: Decimal | None
    refunded_sum: Decimal
    octo_pay_url: str | None
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_body(cls, body: dict, shop_transaction_id: str) -> PaymentStatus:
        return cls(**_payment_fields(body, shop_transaction_id, new=False))


@dataclass(frozen=True)
class RefundResult:
    shop_refund_id: str
    octo_payment_uuid: str | None
    refund_id: str | None
    refund_time: str | None
    status: str
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def succeeded(self) -> bool:
        """Older OCTO answers a refund with a flat `{"error": 0, "status": "ok"}`."""
        return self.status in {"succeeded", "ok"}

    @classmethod
    def from_body(cls, body: dict, shop_refund_id: str) -> RefundResult:
        fields = _Fields(body, "/refund")
        return cls(
            shop_refund_id=shop_refund_id,
            octo_payment_uuid=fields.text("octo_payment_UUID", required=False),
            refund_id=fields.text("refund_id", required=False),
            refund_time=fields.text("refund_time", required=False),
            status=fields.status(),
            raw=body,
        )
