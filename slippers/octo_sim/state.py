"""In-memory state of the OCTO sandbox: payments, refunds, recorded traffic and knobs."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from slippers.payments.octo_protocol import CENT, INIT_TIME_FORMAT, TASHKENT

STATUSES = frozenset(
    {"created", "wait_user_action", "waiting_for_capture", "succeeded", "failed", "canceled"}
)
FINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
FAULT_MODES = frozenset({"error", "http500", "timeout", "nonjson"})
MESSAGE_FIELDS = ("errMessage", "errorMessage", "apiMessageForDevelopers")


def _octo_names(values: dict[str, Any]) -> dict[str, Any]:
    """Spell the payment id as OCTO does in every JSON the sandbox shows."""
    values["octo_payment_UUID"] = values.pop("octo_payment_uuid")
    return values


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def tashkent_now() -> str:
    return datetime.now(TASHKENT).strftime(INIT_TIME_FORMAT)


@dataclass
class SimSettings:
    shop_id: int = 1
    secret: str = "sim-secret"
    unique_key: str = "sim-unique-key"
    public_base_url: str = "http://127.0.0.1:8001"
    callback_timeout_sec: float = 5.0

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None) -> SimSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings or {}) - known)
        if unknown:
            raise ValueError(f"unknown OCTO sandbox settings: {', '.join(unknown)}")
        values = {key: value for key, value in (settings or {}).items() if value is not None}
        result = cls(**values)
        result.shop_id = int(result.shop_id)
        result.public_base_url = result.public_base_url.rstrip("/")
        return result


@dataclass
class Payment:
    octo_payment_uuid: str
    shop_transaction_id: str
    total_sum: Decimal
    currency: str
    description: str
    return_url: str
    notify_url: str
    language: str
    auto_capture: bool
    test: bool
    init_time: str
    ttl: int | None = None
    user_data: dict | None = None
    basket: list | None = None
    status: str = "created"
    refunded_sum: Decimal = Decimal("0.00")
    payed_time: str | None = None
    created_at: str = field(default_factory=utc_now)
    # A fixed, obviously fake card; OCTO reports the card used in its callbacks.
    masked_pan: str = "860049******6478"
    card_type: str = "uzcard"
    card_country: str = "UZ"
    rrn: str = field(default_factory=lambda: str(secrets.randbelow(10**12)).zfill(12))

    def as_dict(self) -> dict[str, Any]:
        return _octo_names(asdict(self))


@dataclass
class Refund:
    refund_id: str
    shop_refund_id: str
    octo_payment_uuid: str
    amount: Decimal
    refund_time: str
    status: str = "succeeded"

    def as_dict(self) -> dict[str, Any]:
        return _octo_names(asdict(self))


@dataclass
class Fault:
    """Makes the next `count` API calls to `paths` (all when None) misbehave in `mode`."""

    mode: str
    count: int = 1
    error_code: int = 1
    delay_sec: float = 3.0
    paths: tuple[str, ...] | None = None
    message: str = "simulated OCTO error"
    message_fields: tuple[str, ...] = MESSAGE_FIELDS

    def matches(self, path: str) -> bool:
        return self.count > 0 and (self.paths is None or path in self.paths)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CallbackMode:
    repeat: int = 1
    delay_sec: float = 0.0
    bad_signature: bool = False
    out_of_order: bool = False
    run_async: bool = False

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["async"] = values.pop("run_async")
        return values


class SimState:
    """Everything the sandbox remembers; every read and write holds `lock`."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.payments: dict[str, Payment] = {}
        self.by_transaction: dict[str, str] = {}
        self.refunds: dict[str, Refund] = {}
        self.requests: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.callback_mode = CallbackMode()
        self.response_shape = "data"

    def reset(self) -> None:
        self.wait_idle()
        with self.lock:
            self.payments.clear()
            self.by_transaction.clear()
            self.refunds.clear()
            self.requests.clear()
            self.callbacks.clear()
            self.faults.clear()
            self.callback_mode = CallbackMode()
            self.response_shape = "data"

    # --- background work -----------------------------------------------------------------

    def start_thread(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name="octo-sim-callback", daemon=True)
        with self.lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait for background callback threads; True when none is left running."""
        with self.lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in threads)

    def stop(self) -> None:
        """Wake every sleeping fault or delay, then let background threads finish."""
        self.stopping.set()
        self.wait_idle(timeout=5.0)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once when the server is stopping."""
        if seconds > 0:
            self.stopping.wait(seconds)

    # --- records -------------------------------------------------------------------------

    def record_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append({"seq": len(self.requests) + 1, "time": utc_now(), **entry})

    def record_callback(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            record = {"seq": len(self.callbacks) + 1, "time": utc_now(), **entry}
            self.callbacks.append(record)
            return record

    def take_fault(self, path: str) -> Fault | None:
        """Consume one use of the first fault that matches this API path."""
        with self.lock:
            taken = None
            for fault in self.faults:
                if fault.matches(path):
                    fault.count -= 1
                    taken = replace(fault, count=1)
                    break
            self.faults = [fault for fault in self.faults if fault.count > 0]
            return taken

    # --- payments ------------------------------------------------------------------------

    def create_payment(self, values: dict[str, Any]) -> tuple[Payment, bool]:
        """The payment for this shop_transaction_id, created unless it exists (OCTO de-dup)."""
        with self.lock:
            existing = self.by_transaction.get(values["shop_transaction_id"])
            if existing is not None:
                return self.payments[existing], False
            payment = Payment(octo_payment_uuid=str(uuid.uuid4()), **values)
            self.payments[payment.octo_payment_uuid] = payment
            self.by_transaction[payment.shop_transaction_id] = payment.octo_payment_uuid
            return payment, True

    def find_by_transaction(self, shop_transaction_id: str) -> Payment | None:
        with self.lock:
            key = self.by_transaction.get(shop_transaction_id)
            return self.payments.get(key) if key else None

    def get_payment(self, octo_payment_uuid: str) -> Payment | None:
        with self.lock:
            return self.payments.get(octo_payment_uuid)

    def set_status(self, payment: Payment, status: str) -> None:
        with self.lock:
            payment.status = status
            if status == "succeeded" and payment.payed_time is None:
                payment.payed_time = tashkent_now()

    def move_status(self, payment: Payment, allowed_from: set[str], status: str) -> bool:
        """Set `status` only when the payment is in one of `allowed_from` (atomically)."""
        with self.lock:
            if payment.status not in allowed_from:
                return False
            self.set_status(payment, status)
            return True

    def add_refund(self, payment: Payment, shop_refund_id: str, amount: Decimal) -> Refund:
        with self.lock:
            refund = Refund(
                refund_id=str(uuid.uuid4()),
                shop_refund_id=shop_refund_id,
                octo_payment_uuid=payment.octo_payment_uuid,
                amount=amount,
                refund_time=tashkent_now(),
            )
            self.refunds[shop_refund_id] = refund
            payment.refunded_sum = (payment.refunded_sum + amount).quantize(CENT)
            return refund

    def payment_view(self, payment: Payment) -> dict[str, Any]:
        """A payment with its refunds, for the control API."""
        with self.lock:
            view = payment.as_dict()
            view["refunds"] = [
                refund.as_dict()
                for refund in self.refunds.values()
                if refund.octo_payment_uuid == payment.octo_payment_uuid
            ]
            return view
