"""The only module of the shop that talks HTTP to OCTO (see docs/OCTO.md).

Timing: OCTO_TIMEOUT_SEC is the budget of a whole call, so API.md's promise holds ("no answer
within OCTO_TIMEOUT_SEC -> 504"). Calls that are safe to repeat (prepare_payment, check_status,
refund: OCTO de-duplicates them on our ids) are retried up to OCTO_RETRIES times, with a short
backoff, on connection errors, timeouts and HTTP 5xx, but only inside that budget: each
attempt's (connect, read) timeouts are cut to what is left of it. So a hung gateway answers 504
after about OCTO_TIMEOUT_SEC whatever OCTO_RETRIES is (never (retries + 1) x timeout), while
fast failures (a refused connection, a quick 500) still get their retries; OCTO_RETRIES=0 means
one attempt. set_accept is never retried. (requests' read timeout is per socket read, so only a
server trickling bytes could stretch an attempt past it.)

Money goes out as JSON numbers with exactly two decimals, written from the Decimal's own text
(`dumps_json`), never through float; answers are parsed with `parse_float=Decimal`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from slippers.errors import GatewayError, GatewayTimeout

logger = logging.getLogger(__name__)

# Asia/Tashkent has had no DST since 1992: a fixed offset needs no tz database.
TASHKENT = timezone(timedelta(hours=5), "Asia/Tashkent")
INIT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CENT = Decimal("0.01")

# Keys OCTO_EXTRA_PARAMS may never set: who we are, how much, where money and buyers go.
_IDENTITY_KEYS = ("octo_shop_id", "octo_secret", "shop_transaction_id")
PROTECTED_KEYS = frozenset((*_IDENTITY_KEYS, "total_sum", "currency", "return_url", "notify_url"))
ACCEPT_STATUSES = frozenset({"capture", "cancel"})
_MESSAGE_KEYS = ("errMessage", "errorMessage", "apiMessageForDevelopers")
_RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_MIN_ATTEMPT_SEC = 0.05


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


@dataclass(frozen=True)
class PaymentStatus:
    shop_transaction_id: str
    octo_payment_uuid: str | None
    status: str
    total_sum: Decimal | None
    refunded_sum: Decimal
    octo_pay_url: str | None
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)


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


# --- response parsing ----------------------------------------------------------------------


def gateway_error(message: str, octo_code: int | None = None) -> GatewayError:
    """A GatewayError carrying OCTO's error code (None for transport problems)."""
    error = GatewayError(message)
    error.octo_code = octo_code
    return error


def _gateway_timeout(message: str) -> GatewayTimeout:
    error = GatewayTimeout(message)
    error.octo_code = None
    return error


def _octo_message(body: Mapping[str, Any]) -> str | None:
    for key in _MESSAGE_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _check_business_error(body: Mapping[str, Any], path: str) -> None:
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


# --- the client ----------------------------------------------------------------------------


class OctoClient:
    """A small, thread-safe-enough client: one pooled `requests.Session`, explicit timeouts."""

    def __init__(
        self,
        *,
        api_base: str,
        shop_id: int,
        secret: str,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        retries: int = 2,
        extra_params: Mapping[str, Any] | None = None,
        backoff: float = 0.1,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        if extra_params is not None and not isinstance(extra_params, Mapping):
            raise ValueError("OCTO_EXTRA_PARAMS must be a JSON object")
        self.api_base = api_base.rstrip("/")
        self.shop_id = int(shop_id)
        self._secret = secret
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.extra_params = dict(extra_params or {})
        self.session = requests.Session()
        self.session.headers.update(
            {"Accept": "application/json", "User-Agent": "slippers-octo-client/1"}
        )
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OctoClient:
        """Build from the Flask app.config mapping (the OCTO_* names of config.py)."""
        return cls(
            api_base=config["OCTO_API_BASE"],
            shop_id=config["OCTO_SHOP_ID"],
            secret=config["OCTO_SECRET"],
            connect_timeout=config.get("OCTO_CONNECT_TIMEOUT_SEC", 3.0),
            read_timeout=config.get("OCTO_TIMEOUT_SEC", 10.0),
            retries=config.get("OCTO_RETRIES", 2),
            extra_params=config.get("OCTO_EXTRA_PARAMS") or {},
        )

    def __repr__(self) -> str:
        return f"OctoClient(api_base={self.api_base!r}, shop_id={self.shop_id})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> OctoClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- calls ---------------------------------------------------------------------------

    def prepare_payment(
        self,
        *,
        shop_transaction_id: str,
        total_sum: Decimal,
        currency: str,
        description: str,
        return_url: str,
        notify_url: str,
        language: str,
        init_time: datetime,
        test: bool,
        auto_capture: bool = True,
        ttl: int | None = None,
        user_data: Mapping[str, Any] | None = None,
        basket: list[Mapping[str, Any]] | None = None,
        extra_params: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> PreparedPayment:
        """Create the payment, or get the existing one for this shop_transaction_id."""
        payload = {
            **self._safe_extras(extra_params),
            **self._credentials(),
            "shop_transaction_id": shop_transaction_id,
            "auto_capture": bool(auto_capture),
            "test": bool(test),
            "init_time": format_init_time(init_time),
            "total_sum": to_money(total_sum),
            "currency": currency,
            "description": description,
            "return_url": return_url,
            "notify_url": notify_url,
            "language": language,
        }
        if ttl is not None:
            payload["ttl"] = int(ttl)
        if user_data:
            if any(value is None for value in user_data.values()):
                # OCTO rejects the whole call when user_data holds a null; it is optional.
                logger.info("octo user_data dropped for %s: null value", shop_transaction_id)
            else:
                payload["user_data"] = dict(user_data)
        if basket:
            payload["basket"] = [_basket_line(line) for line in basket]
        body = self._call(
            "/prepare_payment", payload, retry=True, ref=shop_transaction_id, request_id=request_id
        )
        fields = _Fields(body, "/prepare_payment")
        return PreparedPayment(
            shop_transaction_id=fields.text("shop_transaction_id", required=False)
            or shop_transaction_id,
            octo_payment_uuid=str(fields.text("octo_payment_UUID")),
            status=fields.status(),
            octo_pay_url=str(fields.text("octo_pay_url")),
            total_sum=fields.money("total_sum"),
            refunded_sum=fields.money("refunded_sum", default=Decimal("0.00")),
            raw=body,
        )

    def check_status(
        self, shop_transaction_id: str, *, request_id: str | None = None
    ) -> PaymentStatus:
        """The payment's current status: prepare_payment with only the id and credentials."""
        payload = {**self._credentials(), "shop_transaction_id": shop_transaction_id}
        body = self._call(
            "/prepare_payment", payload, retry=True, ref=shop_transaction_id, request_id=request_id
        )
        fields = _Fields(body, "/prepare_payment")
        return PaymentStatus(
            shop_transaction_id=fields.text("shop_transaction_id", required=False)
            or shop_transaction_id,
            octo_payment_uuid=fields.text("octo_payment_UUID", required=False),
            status=fields.status(),
            total_sum=fields.money("total_sum"),
            refunded_sum=fields.money("refunded_sum", default=Decimal("0.00")),
            octo_pay_url=fields.text("octo_pay_url", required=False),
            raw=body,
        )

    def refund(
        self,
        *,
        shop_refund_id: str,
        octo_payment_uuid: str,
        amount: Decimal,
        request_id: str | None = None,
    ) -> RefundResult:
        """Refund part or all of a succeeded payment; reuse shop_refund_id when retrying."""
        money = to_money(amount)
        if money <= 0:
            raise ValueError("refund amount must be positive")
        payload = {
            **self._credentials(),
            "shop_refund_id": shop_refund_id,
            "octo_payment_UUID": octo_payment_uuid,
            "amount": money,
        }
        body = self._call("/refund", payload, retry=True, ref=shop_refund_id, request_id=request_id)
        fields = _Fields(body, "/refund")
        return RefundResult(
            shop_refund_id=shop_refund_id,
            octo_payment_uuid=fields.text("octo_payment_UUID", required=False),
            refund_id=fields.text("refund_id", required=False),
            refund_time=fields.text("refund_time", required=False),
            status=fields.status(),
            raw=body,
        )

    def set_accept(
        self,
        *,
        octo_payment_uuid: str,
        accept_status: str,
        final_amount: Decimal,
        request_id: str | None = None,
    ) -> dict:
        """Capture or cancel a two-stage payment; not retried (OCTO documents no de-dup)."""
        if accept_status not in ACCEPT_STATUSES:
            raise ValueError("accept_status must be 'capture' or 'cancel'")
        payload = {
            **self._credentials(),
            "octo_payment_UUID": octo_payment_uuid,
            "accept_status": accept_status,
            "final_amount": to_money(final_amount),
        }
        body = self._call(
            "/set_accept", payload, retry=False, ref=octo_payment_uuid, request_id=request_id
        )
        data = body.get("data")
        return dict(data) if isinstance(data, Mapping) else body

    # --- plumbing ------------------------------------------------------------------------

    def _credentials(self) -> dict[str, Any]:
        return {"octo_shop_id": self.shop_id, "octo_secret": self._secret}

    def _safe_extras(self, extra_params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Configured extras, then per-call extras, minus the keys they may never set."""
        if extra_params is not None and not isinstance(extra_params, Mapping):
            raise ValueError("extra_params must be a mapping")
        merged = {**self.extra_params, **(extra_params or {})}
        refused = sorted(PROTECTED_KEYS.intersection(merged))
        if refused:
            logger.warning("octo extra params may not override %s; ignored", ", ".join(refused))
        return {key: value for key, value in merged.items() if key not in PROTECTED_KEYS}

    def _call(
        self,
        path: str,
        payload: Mapping[str, Any],
        *,
        retry: bool,
        ref: str,
        request_id: str | None,
    ) -> dict:
        """POST the payload and return OCTO's success body, or raise GatewayError/Timeout."""
        started = time.monotonic()
        outcome, level = "ok", logging.INFO
        try:
            body = self._post_with_retries(path, dumps_json(payload), retry=retry, started=started)
            _check_business_error(body, path)
            return body
        except (GatewayError, GatewayTimeout) as exc:
            outcome, level = f"{type(exc).__name__}: {exc.message}", logging.WARNING
            raise
        finally:
            duration_ms = round((time.monotonic() - started) * 1000)
            # Structured fields for the JSON log formatter; never the payload (it holds the secret).
            extra = {"octo_call": path, "octo_ref": ref, "duration_ms": duration_ms}
            extra["outcome"] = outcome
            if request_id:
                extra["request_id"] = request_id
            logger.log(
                level,
                "octo %s ref=%s request_id=%s duration_ms=%d outcome=%s",
                path,
                ref,
                request_id or "-",
                duration_ms,
                outcome,
                extra=extra,
            )

    def _post_with_retries(self, path: str, data: str, *, retry: bool, started: float) -> dict:
        """POST, repeated (for safe calls) on transport failures while the deadline allows."""
        deadline = started + self.read_timeout
        attempts = self.retries + 1 if retry else 1
        tried, timed_out, problem = 0, False, ""
        while tried < attempts:
            remaining = deadline - time.monotonic()
            if tried and remaining < _MIN_ATTEMPT_SEC:
                break
            budget = max(remaining, _MIN_ATTEMPT_SEC)
            tried += 1
            try:
                response = self.session.post(
                    self.api_base + path,
                    data=data.encode(),
                    headers={"Content-Type": "application/json"},
                    timeout=(min(self.connect_timeout, budget), min(self.read_timeout, budget)),
                    allow_redirects=False,  # a redirected POST would silently become a GET
                )
            except requests.ConnectTimeout:
                timed_out, problem = True, "could not be connected to"
            except requests.Timeout:
                timed_out, problem = True, "did not answer"
            except _RETRYABLE as exc:
                timed_out, problem = False, f"is unreachable ({type(exc).__name__})"
            except requests.RequestException as exc:
                raise gateway_error(f"OCTO {path} call failed ({type(exc).__name__})") from exc
            else:
                with response:
                    if response.status_code < 500:
                        return _read_body(response, path)
                timed_out, problem = False, f"answered HTTP {response.status_code}"
            pause = self.backoff * 2 ** (tried - 1)
            if tried < attempts and time.monotonic() + pause < deadline - _MIN_ATTEMPT_SEC:
                time.sleep(pause)
        elapsed = time.monotonic() - started
        message = f"OCTO {path} {problem} (after {elapsed:.1f} s, {tried} attempt(s))"
        raise _gateway_timeout(message) if timed_out else gateway_error(message)


def _read_body(response: requests.Response, path: str) -> dict:
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


def _basket_line(line: Mapping[str, Any]) -> dict[str, Any]:
    item = dict(line)
    if "price" in item:
        item["price"] = to_money(item["price"])
    return item
