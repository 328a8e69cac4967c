"""Request and response bodies of the payment routes."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from slippers.fields import Money
from slippers.pagination import PaginationArgsSchema, page_envelope_schema
from slippers.payments.models import PAYMENT_STATUSES

MAX_DB_ID = 2**31 - 1


def _positive(value) -> None:
    if value <= 0:
        raise ValidationError("Must be greater than 0.")


def OrderId(**kwargs) -> fields.Integer:  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_DB_ID), **kwargs)


class PaymentCreateSchema(Schema):
    order_id_camel = OrderId(
        data_key="orderId", load_default=None, metadata={"description": "The order to pay"}
    )
    order_id = OrderId(load_default=None, metadata={"description": "Alias of orderId"})
    amount = Money(
        load_default=None,
        metadata={"description": "Old clients only: must equal the order total (else 422)"},
    )
    total_sum = Money(
        load_default=None,
        metadata={"description": "Old clients only: must equal the order total (else 422)"},
    )

    @validates_schema
    def _one_order_id(self, data, **kwargs) -> None:
        given = [data.get("order_id_camel"), data.get("order_id")]
        if sum(value is not None for value in given) != 1:
            raise ValidationError("Give exactly one of orderId or order_id.", "orderId")


class PaymentCreatedSchema(Schema):
    payment_id = fields.Integer(dump_only=True)
    order_id = fields.Integer(dump_only=True)
    octo_payment_uuid = fields.String(dump_only=True, data_key="octo_payment_UUID")
    octo_pay_url = fields.String(dump_only=True)
    status = fields.String(dump_only=True)


class PaymentSchema(Schema):
    id = fields.Integer(dump_only=True)
    order_id = fields.Integer(dump_only=True)
    amount = Money(dump_only=True)
    refunded_amount = Money(dump_only=True)
    currency = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": list(PAYMENT_STATUSES)})
    octo_payment_uuid = fields.String(dump_only=True, allow_none=True, data_key="octo_payment_UUID")
    shop_transaction_id = fields.String(dump_only=True)
    octo_pay_url = fields.String(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
    paid_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class RefundSchema(Schema):
    id = fields.Integer(dump_only=True)
    shop_refund_id = fields.String(dump_only=True)
    amount = Money(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": ["PENDING", "SUCCEEDED", "FAILED"]})
    octo_refund_id = fields.String(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True, allow_none=True)
    is_automatic = fields.Boolean(dump_only=True)
    last_error = fields.String(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class PaymentEventSchema(Schema):
    id = fields.Integer(dump_only=True)
    source = fields.String(dump_only=True, metadata={"description": "callback/reconcile/..."})
    octo_status = fields.String(dump_only=True, allow_none=True)
    signature_valid = fields.Boolean(dump_only=True, allow_none=True)
    outcome = fields.String(dump_only=True)
    note = fields.String(dump_only=True, allow_none=True)
    payload = fields.Dict(dump_only=True, metadata={"description": "Raw message (admins only)"})
    created_at = fields.AwareDateTime(dump_only=True)


class PaymentDetailSchema(PaymentSchema):
    refunds = fields.List(fields.Nested(RefundSchema), dump_only=True)
    events = fields.List(
        fields.Nested(PaymentEventSchema),
        dump_only=True,
        metadata={"description": "The latest 100 gateway events, oldest first"},
    )


class RefundCreateSchema(Schema):
    octo_payment_uuid = fields.String(
        required=True,
        data_key="octo_payment_UUID",
        validate=validate.Regexp(r"^[!-~]{1,64}$", error="1-64 printable ASCII characters."),
    )
    amount = Money(
        load_default=None,
        validate=_positive,
        metadata={"description": "Default: all that remains to refund"},
    )


class PaymentQueryArgsSchema(PaginationArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(PAYMENT_STATUSES))
    order_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_DB_ID))


class OctoCallbackSchema(Schema):
    """What OCTO sends (documentation only: the body is read leniently and kept raw)."""

    shop_transaction_id = fields.String()
    octo_payment_UUID = fields.String()  # noqa: N815 - OCTO's spelling
    status = fields.String()
    signature = fields.String(metadata={"description": "SHA1(unique_key + UUID + status)"})
    hash_key = fields.String()
    total_sum = fields.Decimal(as_string=True)


class OctoCallbackAnswerSchema(Schema):
    status = fields.String(metadata={"description": "'ok' once the callback is handled"})
    accept_status = fields.String(
        metadata={"description": "Only for waiting_for_capture: capture or cancel"}
    )


PaymentPageSchema = page_envelope_schema(PaymentSchema, "PaymentPage")
