"""OCTO payments, their refunds and every raw gateway event."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from slippers.db_types import Money, TimestampMixin, UTCDateTime, utcnow
from slippers.extensions import db

PAYMENT_STATUSES = ("CREATED", "PENDING", "PAID", "FAILED", "CANCELLED", "REFUNDED")


class Payment(TimestampMixin, db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('CREATED','PENDING','PAID','FAILED','CANCELLED','REFUNDED')",
            name="status_valid",
        ),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"
        ),
        Index("ix_payments_order_created", "order_id", "created_at"),
        Index("ix_payments_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="RESTRICT"), nullable=False
    )
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    refunded_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="CREATED")
    octo_status: Mapped[str | None] = mapped_column(String(32))
    octo_payment_uuid: Mapped[str | None] = mapped_column(String(64), unique=True)
    shop_transaction_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    octo_pay_url: Mapped[str | None] = mapped_column(String(1024))
    last_error: Mapped[str | None] = mapped_column(String(500))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set while one reconcile run asks OCTO about this payment; others skip it until then.
    reconcile_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Refund(TimestampMixin, db.Model):
    """One refund intent; PENDING rows count against what may still be refunded."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('PENDING','SUCCEEDED','FAILED')", name="status_valid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    shop_refund_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="PENDING")
    octo_refund_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))
    is_automatic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    last_error: Mapped[str | None] = mapped_column(String(500))


class PaymentEvent(db.Model):
    """Every raw callback or status answer from OCTO, kept whatever we did with it."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    octo_status: Mapped[str | None] = mapped_column(String(32))
    signature_valid: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
