"""Categories, slippers and their images."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from slippers.db_types import Money, TimestampMixin, UTCDateTime
from slippers.extensions import db


class Category(TimestampMixin, db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    name_key: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


def _live_index(name: str, *columns, **options) -> Index:
    where = text("deleted_at IS NULL")
    return Index(name, *columns, postgresql_where=where, sqlite_where=where, **options)


class Slipper(TimestampMixin, db.Model):
    """A catalog item. Deleting one is soft (`deleted_at`): order lines keep their snapshot."""

    __tablename__ = "slippers"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        CheckConstraint("price >= 0", name="price_non_negative"),
        # Each sort key of the listing (ties by id) walks one of these indexes over live
        # slippers, so a page never sorts the whole catalog.
        _live_index("ix_slippers_live_created", "created_at", "id"),
        _live_index("ix_slippers_live_price", "price", "id"),
        # INCLUDE (name): PostgreSQL answers deep pages by name from the index alone.
        _live_index(
            "ix_slippers_live_name", text("lower(name)"), "id", postgresql_include=["name"]
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    category: Mapped[Category | None] = relationship(lazy="raise")
    images: Mapped[list[SlipperImage]] = relationship(
        back_populates="slipper",
        order_by="SlipperImage.order_index",
        lazy="raise",
        cascade="all, delete-orphan",
    )


class SlipperImage(db.Model):
    __tablename__ = "slipper_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slipper_id: Mapped[int] = mapped_column(
        ForeignKey("slippers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    filename: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    order_index: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    is_primary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    slipper: Mapped[Slipper] = relationship(back_populates="images", lazy="raise")
