"""Engine setup: SQLite gets real transactions (SAVEPOINT-capable) and foreign keys."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event

from slippers.extensions import db


def init_database(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _make_sqlite_transactional(engine)


def _make_sqlite_transactional(engine) -> None:
    """pysqlite's own BEGIN handling breaks SAVEPOINT; emit BEGIN ourselves (SQLAlchemy docs)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


HAND_MANAGED_INDEX_PREFIX = "ix_trgm_"


def include_object(obj, name, type_, reflected, compare_to):
    """Alembic autogenerate: PostgreSQL-only search indexes live in migrations by hand."""
    return not (type_ == "index" and name and name.startswith(HAND_MANAGED_INDEX_PREFIX))


def render_item(type_, obj, autogen_context):
    """Migrations spell our UTC column type as the plain SQL type it stores."""
    from slippers.db_types import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
