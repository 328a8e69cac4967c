"""Request and response bodies of the order routes.

Unknown keys are refused (marshmallow's default RAISE), so a client that sends `price`,
`unit_price`, `total_amount` or `status` anywhere in a new order gets a 422 naming it.
"""

from __future__ import annotations

import re

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate

from slippers.fields import Money
from slippers.orders.models import ORDER_STATUSES
from slippers.pagination import PaginationArgsSchema, page_envelope_schema

MAX_DB_ID = 2**31 - 1
NOTES_MAX = 1000
FINANCE_FILTERS = ("paid_refunded",)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NOTES_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
# Documented limits: the defaults of ORDER_MAX_QTY_PER_ITEM and ORDER_MAX_LINES (the spec is
# built before any request; the validators read the app's settings).
DOC_MAX_QTY = 50
DOC_MAX_LINES = 50


def quantity_validator(min_value: int):
    """Range check against `ORDER_MAX_QTY_PER_ITEM`, read when a request is validated."""

    def check(value: int) -> None:
        limit = current_app.config["ORDER_MAX_QTY_PER_ITEM"]
        if not min_value <= value <= limit:
            raise ValidationError(f"Must be between {min_value} and {limit}.")

    return check


def _line_count(lines: list) -> None:
    limit = current_app.config["ORDER_MAX_LINES"]
    if not 1 <= len(lines) <= limit:
        raise ValidationError(f"An order has 1 to {limit} lines.")


def _printable_text(value: str) -> None:
    if _CONTROL_CHARS.search(value):
        raise ValidationError("Control characters are not allowed.")


def Quantity(min_value: int = 1, note: str = "", **kwargs) -> fields.Integer:  # noqa: N802
    """A JSON integer (not a string, float or boolean) within the per-line limit."""
    return fields.Integer(
        strict=True,
        validate=quantity_validator(min_value),
        metadata={
            "description": f"{min_value}..ORDER_MAX_QTY_PER_ITEM ({DOC_MAX_QTY}){note}",
            "minimum": min_value,
            "maximum": DOC_MAX_QTY,
        },
        **kwargs,
    )


def SlipperId(**kwargs) -> fields.Integer:  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_DB_ID), **kwargs)


def Notes(**kwargs) -> fields.String:  # noqa: N802
    return fields.String(
        allow_none=True,
        validate=[validate.Length(max=NOTES_MAX), _printable_text],
        metadata={"pattern": NOTES_PATTERN, "description": "No control characters but line breaks"},
        **kwargs,
    )


class OrderLineCreateSchema(Schema):
    slipper_id = SlipperId(required=True)
    quantity = Quantity(required=True)


class OrderCreateSchema(Schema):
    items = fields.List(
        fields.Nested(OrderLineCreateSchema),
        required=True,
        validate=_line_count,
        metadata={
            "description": f"1..ORDER_MAX_LINES ({DOC_MAX_LINES}) lines; repeats are merged",
            "minItems": 1,
            "maxItems": DOC_MAX_LINES,
        },
    )
    notes = Notes(load_default=None)
    user_id = fields.Integer(
        strict=True,
        load_default=None,
        metadata={"description": "Optional; must be the caller's own id (else 403)"},
    )


class OrderFromCartSchema(Schema):
    notes = Notes(load_default=None)


class OrderUpdateSchema(Schema):
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    notes = Notes()


class OrderQueryArgsSchema(PaginationArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(ORDER_STATUSES))
    user_id = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=MAX_DB_ID),
        metadata={"description": "Admins: that user's orders. Others: only their own id, else 403"},
    )
    finance = fields.String(
        load_default=None,
        validate=validate.OneOf(FINANCE_FILTERS),
        metadata={"description": "paid_refunded: orders whose latest payment is PAID or REFUNDED"},
    )


class OrderItemSchema(Schema):
    slipper_id = fields.Integer(dump_only=True, allow_none=True)
    name = fields.String(dump_only=True)
    size = fields.String(dump_only=True)
    unit_price = Money(dump_only=True)
    quantity = fields.Integer(dump_only=True)
    line_total = Money(dump_only=True)


class OrderSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    total_amount = Money(dump_only=True)
    currency = fields.String(dump_only=True)
    notes = fields.String(dump_only=True, allow_none=True)
    items = fields.List(fields.Nested(OrderItemSchema), dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class OrderPaymentSchema(Schema):
    id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    amount = Money(dump_only=True)
    refunded_amount = Money(dump_only=True)
    currency = fields.String(dump_only=True)
    octo_payment_uuid = fields.String(dump_only=True, allow_none=True, data_key="octo_payment_UUID")
    created_at = fields.AwareDateTime(dump_only=True)
    paid_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class StatusChangeSchema(Schema):
    from_status = fields.String(dump_only=True, allow_none=True)
    to_status = fields.String(dump_only=True)
    changed_by_user_id = fields.Integer(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)


class OrderDetailSchema(OrderSchema):
    payments = fields.List(fields.Nested(OrderPaymentSchema), dump_only=True)
    status_history = fields.List(fields.Nested(StatusChangeSchema), dump_only=True)


OrderPageSchema = page_envelope_schema(OrderSchema, "OrderPage")
