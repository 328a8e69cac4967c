"""The cached public reads: each returns a finished JSON response (200 or 304)."""

from __future__ import annotations

from flask import Response

from slippers.catalog import listing
from slippers.catalog.cache import cached_json
from slippers.catalog.category_service import list_categories
from slippers.catalog.image_service import list_images
from slippers.catalog.schemas import CategorySchema, Money, SlipperImageSchema
from slippers.catalog.stock_stamps import LiveStock

_categories = CategorySchema(many=True)
_images = SlipperImageSchema(many=True)
_money = Money()
# Lists and details show live stock: cached beside per-slipper stamps (see cache.py).
_PAGE_STOCK = LiveStock(items=lambda page: page["items"], refresh=listing.refresh_stock)
_DETAIL_STOCK = LiveStock(items=lambda item: [item], refresh=listing.refresh_stock)


def slipper_json(item: dict) -> dict:
    """What SlipperSchema().dump(item) gives, without its per-field machinery (hot path).

    tests/catalog check that both agree (the detail route equals the create response).
    """
    return {
        **item,
        "price": _money.serialize("price", item),
        "created_at": item["created_at"].isoformat(),
        "updated_at": item["updated_at"].isoformat(),
    }


def _page_json(page: dict) -> dict:
    return {**page, "items": [slipper_json(item) for item in page["items"]]}


def category_list(include_inactive: bool) -> Response:
    """Only admins get here with include_inactive=true, so the flag alone keys the output."""
    return cached_json(
        "categories",
        {"include_inactive": include_inactive},
        lambda: _categories.dump(list_categories(include_inactive)),
    )


def slipper_list(args: dict) -> Response:
    return cached_json(
        "slippers", args, lambda: _page_json(listing.list_slippers(args)), _PAGE_STOCK
    )


def slipper_detail(slipper_id: int) -> Response:
    return cached_json(
        "slipper",
        {"id": slipper_id},
        lambda: slipper_json(listing.slipper_detail(slipper_id)),
        _DETAIL_STOCK,
    )


def slipper_images(slipper_id: int) -> Response:
    return cached_json("images", {"id": slipper_id}, lambda: _images.dump(list_images(slipper_id)))
