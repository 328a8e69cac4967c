"""OCTO statuses -> our payment statuses, in one table, and the order they may move in."""

from __future__ import annotations

# Every OCTO status we understand. Anything else is recorded and changes nothing.
OCTO_TO_PAYMENT: dict[str, str] = {
    "created": "CREATED",
    "wait_user_action": "PENDING",
    "waiting_for_capture": "PENDING",  # two-stage hold: we answer capture or cancel
    "succeeded": "PAID",
    "paid": "PAID",  # older clients of this API treated these as success too
    "captured": "PAID",
    "completed": "PAID",
    "canceled": "CANCELLED",
    "cancelled": "CANCELLED",
    "failed": "FAILED",
}

# A payment only moves to a higher rank; PAID -> REFUNDED happens through refunds only.
RANK: dict[str, int] = {
    "CREATED": 0,
    "PENDING": 1,
    "PAID": 2,
    "FAILED": 2,
    "CANCELLED": 2,
    "REFUNDED": 3,
}

OPEN_STATUSES = ("CREATED", "PENDING")
CLOSED_UNPAID = ("FAILED", "CANCELLED")
HOLD_STATUS = "waiting_for_capture"
# OCTO statuses after which nobody is paying any more: a payment still in one of them past
# OCTO_TTL_MINUTES is closed by reconciliation (a two-stage hold is not: money is held).
UNPAID_OCTO_STATUSES = frozenset({"created", "wait_user_action"})

REFUND_PENDING, REFUND_SUCCEEDED, REFUND_FAILED = "PENDING", "SUCCEEDED", "FAILED"
REFUND_STATUSES = (REFUND_PENDING, REFUND_SUCCEEDED, REFUND_FAILED)


def payment_status_for(octo_status: object) -> str | None:
    """Our status for an OCTO status (any case), or None when it is not one we know."""
    if not isinstance(octo_status, str):
        return None
    return OCTO_TO_PAYMENT.get(octo_status.strip().lower())


def moves_forward(current: str, target: str) -> bool:
    """True when an OCTO status may move a payment from `current` to `target`."""
    return current in OPEN_STATUSES and RANK[target] > RANK[current]
