"""The sandbox's JSON control API under /_sim/, for tests and for people."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Response, request

from slippers.octo_sim import callbacks
from slippers.octo_sim.state import (
    FAULT_MODES,
    MESSAGE_FIELDS,
    STATUSES,
    CallbackMode,
    Fault,
    Payment,
)
from slippers.octo_sim.web import json_response, request_json, sim_state

bp = Blueprint("octo_control", __name__, url_prefix="/_sim")

ENDPOINTS = {
    "POST /_sim/reset": "forget payments, refunds, records and knobs",
    "GET /_sim/requests?path=": "API calls and pay page actions received, oldest first",
    "GET /_sim/payments": "every payment",
    "GET /_sim/payments/<uuid>": "one payment with its refunds",
    "POST /_sim/payments/<uuid>/status": '{"status"}: change it without a callback',
    "POST /_sim/payments/<uuid>/callback": '{"status", "total_sum"?, "bad_signature"?}',
    "GET /_sim/callbacks": "every callback delivery attempt with the shop's answer",
    "POST /_sim/faults": '{"mode", "count", "error_code", "delay_sec", "paths", "message"}',
    "DELETE /_sim/faults": "drop pending faults",
    "POST /_sim/callback-mode": '{"repeat", "delay_sec", "bad_signature", "out_of_order", "async"}',
    "POST /_sim/response-shape": '{"shape": "data" | "flat"} (flat = older OCTO answers)',
    "POST /_sim/wait-idle": '{"timeout"}: wait for background callbacks',
}


class ControlError(Exception):
    """A bad control request: 400 (or `status`) with a message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@bp.errorhandler(ControlError)
def control_error(error: ControlError) -> Response:
    return json_response({"message": str(error)}, error.status)


@bp.get("/")
def index() -> Response:
    return json_response({"endpoints": ENDPOINTS})


@bp.post("/reset")
def reset() -> Response:
    sim_state().reset()
    return json_response({"ok": True})


@bp.get("/requests")
def recorded_requests() -> Response:
    path = request.args.get("path")
    state = sim_state()
    with state.lock:
        entries = [entry for entry in state.requests if path is None or entry["path"] == path]
        return json_response(entries)


@bp.get("/payments")
def payments() -> Response:
    state = sim_state()
    with state.lock:
        return json_response([state.payment_view(p) for p in state.payments.values()])


@bp.get("/payments/<payment_uuid>")
def payment(payment_uuid: str) -> Response:
    state = sim_state()
    return json_response(state.payment_view(_payment(payment_uuid)))


@bp.post("/payments/<payment_uuid>/status")
def set_status(payment_uuid: str) -> Response:
    """Change the status silently, as if OCTO's callback had been lost (for reconciliation)."""
    state = sim_state()
    found = _payment(payment_uuid)
    state.set_status(found, _status(_body()))
    return json_response(state.payment_view(found))


@bp.post("/payments/<payment_uuid>/callback")
def send_callback(payment_uuid: str) -> Response:
    """Send one callback now; the payment's own status is not changed."""
    state = sim_state()
    found = _payment(payment_uuid)
    body = _body()
    total_sum = body.get("total_sum")
    if total_sum is not None:
        try:
            total_sum = Decimal(str(total_sum))
        except InvalidOperation:
            raise ControlError("total_sum must be a number") from None
    record = callbacks.send_one(
        state,
        found,
        _status(body),
        total_sum=total_sum,
        bad_signature=_bool(body, "bad_signature"),
    )
    return json_response(record)


@bp.get("/callbacks")
def callback_log() -> Response:
    state = sim_state()
    with state.lock:
        return json_response(list(state.callbacks))


@bp.get("/faults")
def faults() -> Response:
    state = sim_state()
    with state.lock:
        return json_response([fault.as_dict() for fault in state.faults])


@bp.post("/faults")
def add_fault() -> Response:
    """Queue a fault; several queued faults are used in order."""
    body = _body()
    mode = body.get("mode")
    if mode not in FAULT_MODES:
        raise ControlError(f"mode must be one of {sorted(FAULT_MODES)}")
    paths = body.get("paths")
    if paths is not None and not (
        isinstance(paths, list) and all(isinstance(p, str) for p in paths)
    ):
        raise ControlError("paths must be a list of strings")
    fields = body.get("message_fields", list(MESSAGE_FIELDS))
    if not isinstance(fields, list) or not set(fields) <= set(MESSAGE_FIELDS):
        raise ControlError(f"message_fields must be a subset of {list(MESSAGE_FIELDS)}")
    fault = Fault(
        mode=mode,
        count=_int(body, "count", 1, minimum=1),
        error_code=_int(body, "error_code", 1, minimum=1),
        delay_sec=_seconds(body, "delay_sec", 3.0),
        paths=tuple(paths) if paths is not None else None,
        message=str(body.get("message") or "simulated OCTO error"),
        message_fields=tuple(fields),
    )
    state = sim_state()
    with state.lock:
        state.faults.append(fault)
        return json_response([f.as_dict() for f in state.faults])


@bp.delete("/faults")
def clear_faults() -> Response:
    state = sim_state()
    with state.lock:
        state.faults.clear()
    return json_response([])


@bp.post("/callback-mode")
def callback_mode() -> Response:
    """Replace the delivery mode; keys left out take their defaults."""
    body = _body()
    mode = CallbackMode(
        repeat=_int(body, "repeat", 1, minimum=1),
        delay_sec=_seconds(body, "delay_sec", 0.0),
        bad_signature=_bool(body, "bad_signature"),
        out_of_order=_bool(body, "out_of_order"),
        run_async=_bool(body, "async"),
    )
    state = sim_state()
    with state.lock:
        state.callback_mode = mode
    return json_response(mode.as_dict())


@bp.post("/response-shape")
def response_shape() -> Response:
    shape = _body().get("shape")
    if shape not in {"data", "flat"}:
        raise ControlError("shape must be 'data' or 'flat'")
    state = sim_state()
    with state.lock:
        state.response_shape = shape
    return json_response({"shape": shape})


@bp.post("/wait-idle")
def wait_idle() -> Response:
    timeout = _seconds(_body(), "timeout", 5.0)
    return json_response({"idle": sim_state().wait_idle(timeout)})


# --- parsing -------------------------------------------------------------------------------


def _body() -> dict[str, Any]:
    body = request_json()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body


def _payment(payment_uuid: str) -> Payment:
    found = sim_state().get_payment(payment_uuid)
    if found is None:
        raise ControlError(f"no payment {payment_uuid}", 404)
    return found


def _status(body: dict[str, Any]) -> str:
    status = body.get("status")
    if status not in STATUSES:
        raise ControlError(f"status must be one of {sorted(STATUSES)}")
    return status


def _int(body: dict[str, Any], key: str, default: int, *, minimum: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ControlError(f"{key} must be an integer >= {minimum}")
    return value


def _seconds(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ControlError(f"{key} must be a number of seconds")
    if not 0 <= value <= 60:
        raise ControlError(f"{key} must be between 0 and 60")
    return float(value)


def _bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ControlError(f"{key} must be true or false")
    return value
