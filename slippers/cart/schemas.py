"""Request and response bodies of the cart routes."""

from __future__ import annotations

from marshmallow import Schema, fields

from slippers.fields import Money
from slippers.orders.schemas import Quantity, SlipperId


class CartItemAddSchema(Schema):
    slipper_id = SlipperId(required=True)
    quantity = Quantity(required=True)


class CartItemUpdateSchema(Schema):
    quantity = Quantity(min_value=0, note="; 0 removes the line", required=True)


class CartLineSchema(Schema):
    id = fields.Integer(dump_only=True)
    slipper_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    size = fields.String(dump_only=True)
    unit_price = Money(dump_only=True)
    quantity = fields.Integer(dump_only=True)
    line_total = Money(dump_only=True)


class CartSchema(Schema):
    items = fields.List(fields.Nested(CartLineSchema), dump_only=True)
    total_quantity = fields.Integer(dump_only=True)
    total_amount = Money(dump_only=True)
