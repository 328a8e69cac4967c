"""The current user's cart; every route answers the whole cart after the change."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from slippers.auth.access import current_user, login_required
from slippers.cart import service
from slippers.cart.schemas import CartItemAddSchema, CartItemUpdateSchema, CartSchema
from slippers.orders.schemas import MAX_DB_ID

blp = Blueprint(
    "cart", __name__, url_prefix="/cart", description="The user's cart, priced at today's prices"
)


@blp.route("/")
class CartView(MethodView):
    @login_required(blp)
    @blp.response(200, CartSchema)
    def get(self):
        """The cart (empty when there is none); lines of removed slippers are not shown."""
        return service.view_cart(current_user().id)

    @login_required(blp)
    @blp.response(200, CartSchema)
    def delete(self):
        """Empty the cart."""
        return service.clear_cart(current_user().id)


@blp.route("/items")
class CartItems(MethodView):
    @login_required(blp)
    @blp.arguments(CartItemAddSchema)
    @blp.response(201, CartSchema)
    def post(self, data):
        """Add a slipper → 201 and the whole cart; an existing line grows instead.

        Unknown or removed slipper, or a line (after merging) above
        ORDER_MAX_QTY_PER_ITEM, or more than ORDER_MAX_LINES different slippers → 422.
        """
        return service.add_item(current_user().id, data["slipper_id"], data["quantity"])


@blp.route(f"/items/<int(max={MAX_DB_ID}):item_id>")
class CartItemById(MethodView):
    @login_required(blp)
    @blp.arguments(CartItemUpdateSchema)
    @blp.response(200, CartSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, data, item_id):
        """Set a line's quantity; 0 removes it. Another user's line → 404."""
        return service.set_quantity(current_user().id, item_id, data["quantity"])

    @login_required(blp)
    @blp.response(200, CartSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, item_id):
        """Remove a line. Another user's line → 404."""
        return service.remove_item(current_user().id, item_id)
