"""The cached public reads: each returns a finished JSON response (200 or 304)."""

from __future__ import annotations

from flask import Response

from slippers.catalog import listing
from slippers.catalog.cache import cached_json
from slippers.catalog.category_service import list_categories
from slippers.catalog.image_service import list_images
from slippers.catalog.schemas import (
    CategorySchema,
    SlipperImageSchema,
    SlipperPageSchema,
    SlipperSchema,
)

_categories = CategorySchema(many=True)
_page = SlipperPageSchema()
_detail = SlipperSchema()
_images = SlipperImageSchema(many=True)


def category_list(include_inactive: bool) -> Response:
    """Only admins get here with include_inactive=true, so the flag alone keys the output."""
    return cached_json(
        "categories",
        {"include_inactive": include_inactive},
        lambda: _categories.dump(list_categories(include_inactive)),
    )


def slipper_list(args: dict) -> Response:
    return cached_json("slippers", args, lambda: _page.dump(listing.list_slippers(args)))


def slipper_detail(slipper_id: int) -> Response:
    return cached_json(
        "slipper", {"id": slipper_id}, lambda: _detail.dump(listing.slipper_detail(slipper_id))
    )


def slipper_images(slipper_id: int) -> Response:
    return cached_json("images", {"id": slipper_id}, lambda: _images.dump(list_images(slipper_id)))
