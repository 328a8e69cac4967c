"""Reading slippers: search, filters, sorting and a constant number of SQL statements.

A page costs at most two statements (a count, cached per filter set, and the page itself,
which carries the category name and the primary image through a join and a correlated
subquery), plus one bulk statement for all the page's images when they are asked for.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Select, func, or_, select

from slippers.catalog.cache import cached_value
from slippers.catalog.models import Category, Slipper, SlipperImage
from slippers.catalog.storage import file_url
from slippers.errors import NotFound
from slippers.extensions import db
from slippers.search import contains_ci

FILTER_ARGS = ("q", "category_id", "min_price", "max_price", "size", "in_stock")
FILTER_FIRST_BELOW = 5000
SORT_COLUMNS = {
    "name": func.lower(Slipper.name),
    "price": Slipper.price,
    "created_at": Slipper.created_at,
}


def primary_image_filename():
    """The primary image, else the first one: always at most one file name per slipper."""
    return (
        select(SlipperImage.filename)
        .where(SlipperImage.slipper_id == Slipper.id)
        .order_by(SlipperImage.is_primary.desc(), SlipperImage.order_index, SlipperImage.id)
        .limit(1)
        .correlate(Slipper)
        .scalar_subquery()
    )


ROW_COLUMNS = (
    Slipper.id,
    Slipper.name,
    Slipper.description,
    Slipper.size,
    Slipper.price,
    Slipper.quantity,
    Slipper.category_id,
    Slipper.created_at,
    Slipper.updated_at,
)


def _row_select() -> Select:
    """Plain columns (no ORM objects to build), the category name and the primary image."""
    return select(
        *ROW_COLUMNS,
        Category.name.label("category_name"),
        primary_image_filename().label("primary"),
    ).outerjoin(Category, Category.id == Slipper.category_id)


def slipper_filters(args: dict) -> list:
    """WHERE clauses for the list; `q` is shaped as lower(col) LIKE so trigram indexes apply."""
    clauses = [Slipper.deleted_at.is_(None)]
    if args.get("q"):
        q = args["q"]
        clauses.append(
            or_(
                contains_ci(Slipper.name, q),
                contains_ci(Slipper.description, q),
                contains_ci(Slipper.size, q),
            )
        )
    if args.get("category_id") is not None:
        clauses.append(Slipper.category_id == args["category_id"])
    if args.get("min_price") is not None:
        clauses.append(Slipper.price >= args["min_price"])
    if args.get("max_price") is not None:
        clauses.append(Slipper.price <= args["max_price"])
    if args.get("size"):
        clauses.append(Slipper.size == args["size"])
    if args.get("in_stock") is True:
        clauses.append(Slipper.quantity > 0)
    elif args.get("in_stock") is False:
        clauses.append(Slipper.quantity == 0)
    return clauses


def _ordering(sort: str, key=None, row_id=None) -> list:
    """ORDER BY for a sort key, ties broken by id in the same direction."""
    key = SORT_COLUMNS[sort.lstrip("-")] if key is None else key
    row_id = Slipper.id if row_id is None else row_id
    if sort.startswith("-"):
        return [key.desc(), row_id.desc()]
    return [key.asc(), row_id.asc()]


def _page_ids(clauses: list, sort: str, total: int, limit: int, offset: int):
    """The ids of one page, as a subquery.

    When the filters leave few rows, they are fetched first and sorted afterwards: the
    OFFSET 0 subquery is a planner fence on PostgreSQL. Otherwise, with a selective search
    (estimated badly for LIKE '%x%'), the planner may walk the whole newest-first index
    looking for 20 matches instead of using the trigram indexes.
    """
    if total <= FILTER_FIRST_BELOW and len(clauses) > 1:
        matches = (
            select(Slipper.id, SORT_COLUMNS[sort.lstrip("-")].label("key"))
            .where(*clauses)
            .offset(0)
            .subquery()
        )
        stmt = select(matches.c.id).order_by(*_ordering(sort, matches.c.key, matches.c.id))
    else:
        stmt = select(Slipper.id).where(*clauses).order_by(*_ordering(sort))
    return stmt.limit(limit).offset(offset).subquery()


def list_slippers(args: dict) -> dict:
    """One page of live slippers as plain dicts, in the envelope of API.md."""
    page, page_size = args["page"], args["page_size"]
    clauses = slipper_filters(args)
    # Every page of one search shares its count: cached apart from the pages.
    total = cached_value(
        "slipper-count",
        {name: args.get(name) for name in FILTER_ARGS},
        lambda: db.session.execute(
            select(func.count()).select_from(Slipper).where(*clauses)
        ).scalar_one(),
    )
    items: list[dict] = []
    if total > (page - 1) * page_size:
        ordering = _ordering(args["sort"])
        # Page the bare ids first: the per-row extras (category, primary image) are then
        # computed for this page only, not for every row OFFSET skips.
        page_ids = _page_ids(clauses, args["sort"], total, page_size, (page - 1) * page_size)
        rows = db.session.execute(
            _row_select().join(page_ids, page_ids.c.id == Slipper.id).order_by(*ordering)
        ).all()
        items = [slipper_dict(row) for row in rows]
        if args.get("include_images"):
            attach_images(items)
    return {
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": math.ceil(total / page_size) if total else 0,
    }


def slipper_detail(slipper_id: int) -> dict:
    """One live slipper with its images, or NotFound."""
    row = db.session.execute(
        _row_select().where(Slipper.id == slipper_id, Slipper.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFound("Slipper not found")
    item = slipper_dict(row)
    attach_images([item])
    return item


def refresh_stock(items: list[dict]) -> None:
    """Re-read `quantity`, `in_stock` and `updated_at` of these (JSON-ready) slipper dicts.

    The cache calls this when a stock move may have landed while the body was built
    (stock_stamps.py), so that the stock a cached body shows is never older than the stamps
    stored beside it. One statement for all the ids.
    """
    if not items:
        return
    rows = db.session.execute(
        select(Slipper.id, Slipper.quantity, Slipper.updated_at).where(
            Slipper.id.in_([item["id"] for item in items])
        )
    ).all()
    current = {row.id: row for row in rows}
    for item in items:
        row = current.get(item["id"])
        if row is not None:
            item["quantity"] = row.quantity
            item["in_stock"] = row.quantity > 0
            item["updated_at"] = row.updated_at.isoformat()


def slipper_dict(row) -> dict:
    """A row of `_row_select()` as the fields of SlipperSchema (Python values)."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "size": row.size,
        "price": row.price,
        "quantity": row.quantity,
        "in_stock": row.quantity > 0,
        "category_id": row.category_id,
        "category_name": row.category_name,
        "primary_image_url": file_url(row.primary) if row.primary else None,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def attach_images(items: list[dict]) -> None:
    """Give every item its ordered `images` with one query for the whole list."""
    by_slipper = images_by_slipper(item["id"] for item in items)
    for item in items:
        item["images"] = by_slipper.get(item["id"], [])


def images_by_slipper(slipper_ids: Iterable[int]) -> dict[int, list[dict]]:
    ids = list(slipper_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(SlipperImage)
        .where(SlipperImage.slipper_id.in_(ids))
        .order_by(SlipperImage.slipper_id, SlipperImage.order_index, SlipperImage.id)
    ).scalars()
    grouped: dict[int, list[dict]] = defaultdict(list)
    for image in rows:
        grouped[image.slipper_id].append(image_dict(image))
    return grouped


def image_dict(image: SlipperImage) -> dict:
    return {
        "id": image.id,
        "url": file_url(image.filename),
        "is_primary": image.is_primary,
        "order_index": image.order_index,
    }
