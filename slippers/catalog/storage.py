"""Image files on disk under UPLOAD_FOLDER: random names, all-or-nothing writes, serving."""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

from flask import Response, current_app, send_from_directory

from slippers.errors import NotFound

log = logging.getLogger("slippers.catalog.storage")

URL_PREFIX = "/uploads/"
CONTENT_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
FILENAME_RE = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
ONE_YEAR = 365 * 24 * 3600


def upload_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_filename(extension: str) -> str:
    """A random, unguessable name; the client's file name is never used."""
    if extension not in CONTENT_TYPES:
        raise ValueError(f"unsupported extension {extension!r}")
    return secrets.token_hex(16) + extension


def file_url(filename: str) -> str:
    return URL_PREFIX + filename


def save_files(files: Iterable[tuple[str, bytes]]) -> list[str]:
    """Write every `(name, data)` or none: on any failure the ones written are removed."""
    folder = upload_folder()
    written: list[str] = []
    try:
        for name, data in files:
            _write_new(folder / name, data)
            written.append(name)
    except BaseException:
        remove_files(written)
        raise
    return written


def _write_new(path: Path, data: bytes) -> None:
    """Write to a temporary name, then rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if path.exists():
            raise FileExistsError(path.name)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_files(names: Iterable[str]) -> None:
    """Best effort: a file that cannot be removed is logged, never an error for the client."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    for name in names:
        try:
            (folder / name).unlink(missing_ok=True)
        except OSError:
            log.error("could not remove upload %s", name, exc_info=True)


def send_upload(filename: str) -> Response:
    """Serve a stored image with its real type; names are immutable so caching is long."""
    if not FILENAME_RE.match(filename):
        raise NotFound("File not found")
    extension = Path(filename).suffix
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    if not (folder / filename).is_file():
        raise NotFound("File not found")
    response = send_from_directory(
        folder, filename, mimetype=CONTENT_TYPES[extension], max_age=ONE_YEAR
    )
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
