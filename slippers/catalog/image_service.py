"""Slipper images: validate everything, then write files, then commit (or remove the files)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from slippers.catalog import storage
from slippers.catalog.cache import invalidate_catalog
from slippers.catalog.images import CleanImage, clean_image, read_limited
from slippers.catalog.listing import image_dict, images_by_slipper
from slippers.catalog.models import SlipperImage
from slippers.catalog.slipper_service import get_live_slipper
from slippers.db_types import utcnow
from slippers.errors import NotFound, Unprocessable
from slippers.extensions import db


def list_images(slipper_id: int) -> list[dict]:
    get_live_slipper(slipper_id)
    return images_by_slipper([slipper_id]).get(slipper_id, [])


def add_images(slipper_id: int, uploads: list) -> list[dict]:
    """Store 1..MAX_IMAGES_PER_REQUEST uploads; the first image a slipper gets is primary.

    Nothing is written unless every file passes. Decoding happens before the slipper row
    is locked, so the lock is held only for the count, the writes and the commit.
    """
    config = current_app.config
    per_request = config["MAX_IMAGES_PER_REQUEST"]
    if not 1 <= len(uploads) <= per_request:
        raise Unprocessable(
            f"Send 1 to {per_request} images per request",
            errors={"images": [f"1 to {per_request} files."]},
        )
    get_live_slipper(slipper_id)
    db.session.rollback()  # no transaction stays open while images are decoded
    max_bytes = config["MAX_IMAGE_MB"] * 1024 * 1024
    cleaned = [_clean_upload(upload, index, max_bytes) for index, upload in enumerate(uploads, 1)]

    slipper = get_live_slipper(slipper_id, lock=True)
    existing, last_index, has_primary = _image_stats(slipper.id)
    per_slipper = config["MAX_IMAGES_PER_SLIPPER"]
    if existing + len(cleaned) > per_slipper:
        db.session.rollback()
        raise Unprocessable(
            f"A slipper can have at most {per_slipper} images; it has {existing}",
            errors={"images": [f"At most {per_slipper - existing} more."]},
        )
    names = [storage.new_filename(image.extension) for image in cleaned]
    rows = [
        _new_row(slipper.id, name, image, last_index + position, not has_primary and position == 1)
        for position, (name, image) in enumerate(zip(names, cleaned, strict=True), 1)
    ]
    storage.save_files(zip(names, (image.data for image in cleaned), strict=True))
    try:
        db.session.add_all(rows)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        storage.remove_files(names)
        raise
    invalidate_catalog()
    return [image_dict(row) for row in rows]


def delete_image(slipper_id: int, image_id: int) -> None:
    """Delete the row, then the file; a deleted primary hands over to the next image."""
    slipper = get_live_slipper(slipper_id, lock=True)
    image = db.session.execute(
        select(SlipperImage).where(
            SlipperImage.id == image_id, SlipperImage.slipper_id == slipper.id
        )
    ).scalar_one_or_none()
    if image is None:
        db.session.rollback()
        raise NotFound("Image not found")
    filename, was_primary = image.filename, image.is_primary
    db.session.delete(image)
    db.session.flush()
    if was_primary:
        successor = db.session.execute(
            select(SlipperImage)
            .where(SlipperImage.slipper_id == slipper.id)
            .order_by(SlipperImage.order_index, SlipperImage.id)
            .limit(1)
        ).scalar_one_or_none()
        if successor is not None:
            successor.is_primary = True
    db.session.commit()
    storage.remove_files([filename])
    invalidate_catalog()


def _clean_upload(upload, index: int, max_bytes: int) -> CleanImage:
    label = f"File {index}"
    return clean_image(read_limited(upload.stream, max_bytes, label), label)


def _image_stats(slipper_id: int) -> tuple[int, int, bool]:
    count, last_index, primaries = db.session.execute(
        select(
            func.count(SlipperImage.id),
            func.coalesce(func.max(SlipperImage.order_index), -1),
            func.count(SlipperImage.id).filter(SlipperImage.is_primary.is_(True)),
        ).where(SlipperImage.slipper_id == slipper_id)
    ).one()
    return count, last_index, primaries > 0


def _new_row(slipper_id: int, name: str, image: CleanImage, order_index: int, primary: bool):
    return SlipperImage(
        slipper_id=slipper_id,
        filename=name,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
        order_index=order_index,
        is_primary=primary,
        created_at=utcnow(),
    )
