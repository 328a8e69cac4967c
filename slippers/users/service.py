"""User administration: list, read, change, deactivate-and-anonymise."""

from __future__ import annotations

import secrets

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from slippers.auth.models import User
from slippers.auth.service import (
    find_unique_conflict,
    normalize_email,
    raise_duplicate,
    revoke_user_sessions,
)
from slippers.db_types import utcnow
from slippers.errors import Conflict, NotFound
from slippers.extensions import db
from slippers.pagination import paginate
from slippers.search import contains_ci


def list_users(q: str | None, page: int, page_size: int) -> dict:
    stmt = select(User).order_by(User.id)
    if q:
        columns = (User.username, User.name, User.surname, User.phone_number, User.email)
        stmt = stmt.where(or_(*(contains_ci(column, q) for column in columns)))
    return paginate(stmt, page, page_size)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def update_user(actor: User, user_id: int, changes: dict) -> User:
    user = get_user(user_id)
    if user.id == actor.id and (
        changes.get("is_admin") is False or changes.get("is_active") is False
    ):
        raise Conflict("Administrators cannot demote or deactivate themselves")
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
    conflict = find_unique_conflict(
        username=None,
        email=changes.get("email"),
        phone=changes.get("phone_number"),
        exclude_id=user.id,
    )
    if conflict:
        raise_duplicate(conflict)
    for field, value in changes.items():
        setattr(user, field, value)
    if changes.get("is_active") is False:
        user.deactivated_at = utcnow()
        revoke_user_sessions(user.id, "deactivated")
    elif changes.get("is_active") is True:
        user.deactivated_at = None
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict("E-mail or phone number already used by another user") from exc
    return user


def delete_user(actor: User, user_id: int) -> None:
    """Deactivate and anonymise; orders and payments keep pointing at the row."""
    user = get_user(user_id)
    if user.id == actor.id:
        raise Conflict("Administrators cannot delete themselves")
    placeholder = f"deleted-{user.id}"
    user.username = placeholder
    user.username_key = placeholder
    user.email = None
    user.phone_number = None
    user.name = None
    user.surname = None
    user.is_admin = False
    user.is_active = False
    user.deactivated_at = user.deactivated_at or utcnow()
    user.password_hash = "!" + secrets.token_hex(32)  # matches no password
    revoke_user_sessions(user.id, "deleted")
    db.session.commit()
