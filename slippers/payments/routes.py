"""Payment routes: thin wrappers over slippers.payments.service."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from slippers.auth.access import admin_required, current_user, login_required
from slippers.http import current_request_id
from slippers.idempotency import idempotent
from slippers.payments import service
from slippers.payments.schemas import (
    MAX_DB_ID,
    OctoCallbackAnswerSchema,
    OctoCallbackSchema,
    PaymentCreatedSchema,
    PaymentCreateSchema,
    PaymentDetailSchema,
    PaymentPageSchema,
    PaymentQueryArgsSchema,
    RefundCreateSchema,
)

blp = Blueprint("payments", __name__, url_prefix="/payments", description="Payments via OCTO")

# Exactly one of orderId / order_id, not null: what PaymentCreateSchema checks, for the spec.
ONE_ORDER_ID = {
    "allOf": [
        PaymentCreateSchema,
        {
            "oneOf": [
                {"required": [name], "properties": {name: {"type": "integer"}}}
                for name in ("orderId", "order_id")
            ]
        },
    ]
}


@blp.route("/octo/create")
class CreatePayment(MethodView):
    @login_required(blp)
    @idempotent(blp)
    @blp.arguments(PaymentCreateSchema)
    @blp.response(201, PaymentCreatedSchema)
    @blp.alt_response(200, schema=PaymentCreatedSchema, description="The open payment")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(502, response="BAD_GATEWAY", description="OCTO answered an error")
    @blp.alt_response(504, response="GATEWAY_TIMEOUT", description="OCTO did not answer in time")
    @blp.doc(requestBody={"content": {"application/json": {"schema": ONE_ORDER_ID}}})
    def post(self, data):
        """Pay a pending order of yours through OCTO; the server charges the order total.

        While a payment of the order is still open at OCTO, that one is returned (200).
        `amount` / `total_sum` (old clients) must equal the order total, else 422.
        """
        order_id = data["order_id_camel"] or data["order_id"]
        claimed = {k: data[k] for k in ("amount", "total_sum") if data[k] is not None}
        return service.create_payment(current_user(), order_id, claimed, current_request_id())


@blp.route("/octo/notify")
class OctoNotify(MethodView):
    @blp.doc(
        security=[],
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": OctoCallbackSchema}},
        },
    )
    @blp.response(200, OctoCallbackAnswerSchema)
    @blp.alt_response(400, response="BAD_REQUEST", description="Not a JSON object")
    @blp.alt_response(401, response="UNAUTHORIZED", description="Missing or wrong signature")
    @blp.alt_response(403, response="FORBIDDEN", description="No OCTO_UNIQUE_KEY configured")
    @blp.alt_response(404, response="NOT_FOUND", description="Unknown payment")
    def post(self):
        """OCTO's callback (no auth, no CSRF, not rate limited; see docs/PAYMENTS.md).

        Every callback is stored. Signed with SHA1(OCTO_UNIQUE_KEY + UUID + status).
        Repeats and late callbacks change nothing; an amount that disagrees with ours is
        recorded and answered 200 without marking the payment paid.
        """
        return service.handle_callback(request.get_data(cache=False), current_request_id())


@blp.route("/octo/refund")
class RefundPayment(MethodView):
    @admin_required(blp)
    @idempotent(blp)
    @blp.arguments(RefundCreateSchema)
    @blp.response(200, PaymentDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="Not PAID, or more than remains")
    @blp.alt_response(502, response="BAD_GATEWAY", description="OCTO refused the refund")
    @blp.alt_response(504, response="GATEWAY_TIMEOUT", description="OCTO did not answer in time")
    def post(self, data):
        """Refund a PAID payment, all that remains by default; partial refunds add up.

        A full refund makes the payment REFUNDED and the order `refunded` (stock back if it
        had not shipped). At least 1 USD (when OCTO_USD_UZS_RATE is set) and at most
        OCTO_MAX_REFUND_UZS per refund, else 422.
        """
        return service.refund_admin(
            current_user(), data["octo_payment_uuid"], data["amount"], current_request_id()
        )


@blp.route("/")
class Payments(MethodView):
    @admin_required(blp)
    @blp.arguments(PaymentQueryArgsSchema, location="query")
    @blp.response(200, PaymentPageSchema)
    def get(self, args):
        """All payments, newest first; filter by `status` and `order_id`."""
        return service.list_payments(**args)


@blp.route(f"/<int(max={MAX_DB_ID}):payment_id>")
class PaymentById(MethodView):
    @login_required(blp)
    @blp.response(200, PaymentDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, payment_id):
        """One payment with its refunds and gateway events (owner of the order or admin)."""
        return service.get_payment_detail(current_user(), payment_id)
