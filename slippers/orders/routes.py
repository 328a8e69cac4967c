"""Order routes: thin wrappers over slippers.orders.service and queries."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from slippers.auth.access import current_user, login_required
from slippers.idempotency import idempotent
from slippers.orders import queries, service
from slippers.orders.schemas import (
    MAX_DB_ID,
    OrderCreateSchema,
    OrderDetailSchema,
    OrderFromCartSchema,
    OrderPageSchema,
    OrderQueryArgsSchema,
    OrderUpdateSchema,
)

blp = Blueprint(
    "orders", __name__, url_prefix="/orders", description="Orders, priced by the server"
)


@blp.route("/")
class Orders(MethodView):
    @login_required(blp)
    @blp.arguments(OrderQueryArgsSchema, location="query")
    @blp.response(200, OrderPageSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    def get(self, args):
        """Own orders, newest first, with their lines (admins: everyone's; `user_id` filters).

        A non-admin passing another user's `user_id` gets 403.
        """
        return queries.list_orders(current_user(), **args)

    @login_required(blp)
    @idempotent(blp)
    @blp.arguments(OrderCreateSchema)
    @blp.response(201, OrderDetailSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Place an order at the server's prices.

        Client-sent `price`, `unit_price`, `total_amount`, `status` (anywhere) → 422;
        `user_id` other than the caller's own → 403 (the caller's own is accepted).
        Unknown slipper → 422; not enough stock → 409 naming the slipper, nothing written.
        """
        return service.place_order(current_user(), data["items"], data["notes"], data["user_id"])


@blp.route("/from-cart")
class OrderFromCart(MethodView):
    @login_required(blp)
    @idempotent(blp)
    @blp.arguments(OrderFromCartSchema, required=False)
    @blp.response(201, OrderDetailSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Order the cart's lines and empty the cart (one transaction). Empty cart → 409."""
        return service.place_order_from_cart(current_user(), data["notes"])


@blp.route(f"/<int(max={MAX_DB_ID}):order_id>")
class OrderById(MethodView):
    @login_required(blp)
    @blp.response(200, OrderDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, order_id):
        """The order with its lines, payments and status history (another user's → 404)."""
        return queries.get_order_detail(current_user(), order_id)

    @login_required(blp)
    @blp.arguments(OrderUpdateSchema, required=False)
    @blp.response(200, OrderDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, changes, order_id):
        """Change notes or status (PUT does the same).

        Owner: `notes` and `status: cancelled`, only while pending. Admin: `notes` in any
        status, `status` along pending→cancelled, confirmed→shipped, shipped→delivered.
        `confirmed` and `refunded` are made by the payment flow only. Any other move,
        including to the current status, → 409. Cancelling a pending order returns its stock.
        """
        return service.update_order(current_user(), order_id, changes)

    put = patch

    @login_required(blp)
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, order_id):
        """Delete a pending or cancelled order; a pending one's stock goes back.

        An order with any payment row (even a failed one: money records are kept) → 409.
        """
        service.delete_order(current_user(), order_id)
