"""Slipper writes: create, update, soft delete. Reads live in `listing`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from slippers.catalog.cache import invalidate_catalog
from slippers.catalog.category_service import category_exists
from slippers.catalog.listing import slipper_detail
from slippers.catalog.models import Slipper
from slippers.db_types import utcnow
from slippers.errors import NotFound, Unprocessable
from slippers.extensions import db

FIELDS = ("name", "description", "size", "price", "quantity", "category_id")


def get_live_slipper(slipper_id: int, *, lock: bool = False) -> Slipper:
    """A slipper still in the catalog (not soft-deleted), optionally row-locked."""
    stmt = select(Slipper).where(Slipper.id == slipper_id, Slipper.deleted_at.is_(None))
    if lock:
        stmt = stmt.with_for_update()
    slipper = db.session.execute(stmt).scalar_one_or_none()
    if slipper is None:
        raise NotFound("Slipper not found")
    return slipper


def create_slipper(data: dict) -> dict:
    _require_category(data["category_id"])
    slipper = Slipper(**{field: data.get(field) for field in FIELDS})
    db.session.add(slipper)
    _commit(data.get("category_id"))
    invalidate_catalog()
    return slipper_detail(slipper.id)


def update_slipper(slipper_id: int, changes: dict, *, replace: bool = False) -> dict:
    """PATCH applies `changes`; PUT (`replace`) also clears an omitted description.

    Orders keep the price they were placed at: their lines hold a snapshot.
    """
    slipper = get_live_slipper(slipper_id, lock=True)
    if replace:
        changes = {"description": None, **changes}
    if "category_id" in changes and changes["category_id"] != slipper.category_id:
        _require_category(changes["category_id"])
    for field in FIELDS:
        if field in changes:
            setattr(slipper, field, changes[field])
    _commit(changes.get("category_id"))
    invalidate_catalog()
    return slipper_detail(slipper.id)


def delete_slipper(slipper_id: int) -> None:
    """Soft delete: gone from every catalog route; order lines keep their snapshot."""
    slipper = get_live_slipper(slipper_id, lock=True)
    slipper.deleted_at = utcnow()
    db.session.commit()
    invalidate_catalog()


def _require_category(category_id: int | None) -> None:
    if category_id is None or not category_exists(category_id):
        raise _unknown_category()


def _commit(category_id: int | None) -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if category_id is not None and not category_exists(category_id):
            raise _unknown_category() from exc
        raise Unprocessable("The slipper breaks a database rule") from exc


def _unknown_category() -> Unprocessable:
    return Unprocessable("Validation failed", errors={"category_id": ["No such category."]})
