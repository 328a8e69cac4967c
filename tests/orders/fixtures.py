"""Fixtures shared by the cart and order tests (imported by their conftest files)."""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from slippers.catalog.models import Slipper
from slippers.extensions import db


@pytest.fixture
def make_slipper():
    """A catalog slipper straight in the database."""

    def _make(
        name: str | None = None, *, price="10.00", quantity: int = 10, size: str = "42", **fields
    ) -> Slipper:
        slipper = Slipper(
            name=name or f"Slipper {uuid.uuid4().hex[:6]}",
            size=size,
            price=Decimal(str(price)),
            quantity=quantity,
            **fields,
        )
        db.session.add(slipper)
        db.session.commit()
        return slipper

    return _make


def stock_of(slipper_id: int) -> int:
    return db.session.execute(select(Slipper.quantity).where(Slipper.id == slipper_id)).scalar_one()


@pytest.fixture
def count_statements():
    """SQL statements sent inside the `with` block (the test harness's savepoints aside)."""

    @contextlib.contextmanager
    def _count():
        seen: list[str] = []

        def _record(conn, cursor, statement, parameters, context, executemany):
            if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
                seen.append(statement)

        engine = db.engine
        target = engine.engine if hasattr(engine, "engine") else engine
        event.listen(target, "before_cursor_execute", _record)
        try:
            yield seen
        finally:
            event.remove(target, "before_cursor_execute", _record)

    return _count
