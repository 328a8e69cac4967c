"""Dialect-specific SQL the orders, cart and idempotency code share."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from slippers.extensions import db


def dialect_insert(model):
    """An INSERT that knows `ON CONFLICT ...` on this database (PostgreSQL or SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
