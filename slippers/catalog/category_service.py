"""Categories: unique names (case-insensitive), never deleted while slippers use them."""

from __future__ import annotations

import unicodedata

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError

from slippers.catalog.cache import invalidate_catalog
from slippers.catalog.models import Category, Slipper
from slippers.errors import Conflict, NotFound, Unprocessable
from slippers.extensions import db

NAME_KEY_MAX = 100


def name_key(name: str) -> str:
    """The uniqueness key: Unicode-normalised and case-folded (which may lengthen it)."""
    key = unicodedata.normalize("NFKC", name).casefold()
    if len(key) > NAME_KEY_MAX:
        raise Unprocessable("Validation failed", errors={"name": ["Too long."]})
    return key


def list_categories(include_inactive: bool) -> list[Category]:
    stmt = select(Category).order_by(func.lower(Category.name), Category.id)
    if not include_inactive:
        stmt = stmt.where(Category.is_active.is_(True))
    return list(db.session.execute(stmt).scalars())


def get_category(category_id: int, *, lock: bool = False) -> Category:
    stmt = select(Category).where(Category.id == category_id)
    if lock:
        stmt = stmt.with_for_update()
    category = db.session.execute(stmt).scalar_one_or_none()
    if category is None:
        raise NotFound("Category not found")
    return category


def create_category(data: dict) -> Category:
    category = Category(
        name=data["name"],
        name_key=name_key(data["name"]),
        description=data.get("description"),
        is_active=data.get("is_active", True),
    )
    db.session.add(category)
    _commit_unique(category.name)
    invalidate_catalog()
    return category


def update_category(category_id: int, changes: dict, *, replace: bool = False) -> Category:
    """PATCH applies `changes`; PUT (`replace`) also resets omitted fields to defaults."""
    category = get_category(category_id, lock=True)
    if replace:
        changes = {"description": None, "is_active": True, **changes}
    if "name" in changes:
        category.name = changes["name"]
        category.name_key = name_key(changes["name"])
    for field in ("description", "is_active"):
        if field in changes:
            setattr(category, field, changes[field])
    _commit_unique(category.name)
    invalidate_catalog()
    return category


def delete_category(category_id: int) -> None:
    """409 while a live slipper uses it; soft-deleted slippers let go of it (category NULL)."""
    category = get_category(category_id, lock=True)
    in_use = db.session.execute(
        select(func.count())
        .select_from(Slipper)
        .where(Slipper.category_id == category.id, Slipper.deleted_at.is_(None))
    ).scalar_one()
    if in_use:
        db.session.rollback()
        raise Conflict(f"Category '{category.name}' is still used by {in_use} slipper(s)")
    db.session.execute(
        update(Slipper)
        .where(Slipper.category_id == category.id, Slipper.deleted_at.is_not(None))
        .values(category_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.delete(category)
    try:
        db.session.commit()
    except IntegrityError as exc:  # a slipper was attached to it meanwhile (FK RESTRICT)
        db.session.rollback()
        raise Conflict(f"Category '{category.name}' is still used by slippers") from exc
    invalidate_catalog()


def category_exists(category_id: int) -> bool:
    return bool(db.session.execute(select(exists().where(Category.id == category_id))).scalar())


def _commit_unique(name: str) -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(
            f"A category named '{name}' already exists", errors={"name": ["Already exists."]}
        ) from exc
