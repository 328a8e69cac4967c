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

Requests are written by octo_protocol.py (money as exact JSON numbers, never through float);
answers are read into typed results by octo_results.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from slippers.errors import GatewayError, GatewayTimeout
from slippers.payments.octo_protocol import dumps_json, format_init_time, to_money
from slippers.payments.octo_results import (
    PaymentStatus,
    PreparedPayment,
    RefundResult,
    check_business_error,
    gateway_error,
    gateway_timeout,
    read_body,
)

logger = logging.getLogger(__name__)

# Keys OCTO_EXTRA_PARAMS may never set: who we are, how much, where money and buyers go.
_IDENTITY_KEYS = ("octo_shop_id", "octo_secret", "shop_transaction_id")
PROTECTED_KEYS = frozenset((*_IDENTITY_KEYS, "total_sum", "currency", "return_url", "notify_url"))
ACCEPT_STATUSES = frozenset({"capture", "cancel"})
_RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_MIN_ATTEMPT_SEC = 0.05


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
        return PreparedPayment.from_body(body, shop_transaction_id)

    def check_status(
        self, shop_transaction_id: str, *, request_id: str | None = None
    ) -> PaymentStatus:
        """The payment's current status: prepare_payment with only the id and credentials."""
        payload = {**self._credentials(), "shop_transaction_id": shop_transaction_id}
        body = self._call(
            "/prepare_payment", payload, retry=True, ref=shop_transaction_id, request_id=request_id
        )
        return PaymentStatus.from_body(body, shop_transaction_id)

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
        return RefundResult.from_body(body, shop_refund_id)

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
            check_business_error(body, path)
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
                        return read_body(response, path)
                timed_out, problem = False, f"answered HTTP {response.status_code}"
            pause = self.backoff * 2 ** (tried - 1)
            if tried < attempts and time.monotonic() + pause < deadline - _MIN_ATTEMPT_SEC:
                time.sleep(pause)
        elapsed = time.monotonic() - started
        message = f"OCTO {path} {problem} (after {elapsed:.1f} s, {tried} attempt(s))"
        raise gateway_timeout(message) if timed_out else gateway_error(message)


def _basket_line(line: Mapping[str, Any]) -> dict[str, Any]:
    item = dict(line)
    if "price" in item:
        item["price"] = to_money(item["price"])
    return item
