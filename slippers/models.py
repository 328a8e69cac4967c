"""Imports every domain's models so Alembic and the app see one metadata."""

from slippers.auth.models import AuthSession, PasswordResetCode, User
from slippers.cart.models import Cart, CartItem
from slippers.catalog.models import Category, Slipper, SlipperImage
from slippers.orders.models import IdempotencyRecord, Order, OrderItem, OrderStatusChange
from slippers.payments.models import Payment, PaymentEvent, Refund

__all__ = [
    "AuthSession",
    "Cart",
    "CartItem",
    "Category",
    "IdempotencyRecord",
    "Order",
    "OrderItem",
    "OrderStatusChange",
    "PasswordResetCode",
    "Payment",
    "PaymentEvent",
    "Refund",
    "Slipper",
    "SlipperImage",
    "User",
]
