"""Catalog fixtures: rows made straight in the database, image bytes, statement counting."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import uuid
import zlib
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from slippers.catalog.cache_health import forget_outages
from slippers.catalog.models import Category, Slipper
from slippers.extensions import db


@pytest.fixture(autouse=True)
def _cache_healthy():
    """A simulated outage in one test must not leave the cache skipped in the next."""
    forget_outages()
    yield
    forget_outages()


@pytest.fixture
def make_category():
    def _make(name: str | None = None, *, is_active: bool = True, **fields) -> Category:
        name = name or f"Category {uuid.uuid4().hex[:8]}"
        category = Category(name=name, name_key=name.casefold(), is_active=is_active, **fields)
        db.session.add(category)
        db.session.commit()
        return category

    return _make


@pytest.fixture
def category(make_category):
    return make_category("House")


@pytest.fixture
def make_slipper(category):
    def _make(name: str = "Plain slipper", **fields) -> Slipper:
        values = {
            "size": "42",
            "price": Decimal("100000.00"),
            "quantity": 5,
            "category_id": category.id,
            **fields,
        }
        slipper = Slipper(name=name, **values)
        db.session.add(slipper)
        db.session.commit()
        return slipper

    return _make


@pytest.fixture
def slipper(make_slipper):
    return make_slipper("Samarkand Velvet", description="Velvet upper", price=Decimal("189000.00"))


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch):
    """Each test gets its own empty UPLOAD_FOLDER, so leftovers are visible and isolated."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return str(folder)


def stored_files(app) -> set[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()


def image_bytes(fmt: str = "PNG", size=(16, 12), color=(200, 30, 60), **save) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if fmt == "PNG" and save.pop("alpha", False) else "RGB"
    Image.new(mode, size, color).save(out, format=fmt, **save)
    return out.getvalue()


def noise_png(width: int, height: int) -> bytes:
    """A valid PNG that does not compress: about 3 bytes per pixel."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def multipart(*files, field: str = "images") -> dict:
    """Test-client kwargs for a multipart body; each file is (bytes, filename[, type]).

    Encoded in memory: the test client would spool big bodies to a temporary file it
    never closes (a ResourceWarning, an error under -W error).
    """
    values = MultiDict()
    for data, filename, *ctype in files:
        content_type = ctype[0] if ctype else "application/octet-stream"
        values.add(
            field, FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)
        )
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@contextlib.contextmanager
def count_statements():
    """Every SQL statement any engine or connection sends while the block runs."""
    statements: list[str] = []

    def _record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", _record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", _record)
