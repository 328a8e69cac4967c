"""The pagination envelope of API.md: items, total, page, page_size, pages."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import Select, func, select

from slippers.extensions import db

MAX_PAGE = 1_000_000


class QueryArgsSchema(Schema):
    """Query arguments given at most once each: `?q=a&q=b` is a 422, not silently `a` (the
    OpenAPI spec describes one value; only List fields take several)."""

    @pre_load
    def _once_each(self, data, **kwargs):
        raw = getattr(data, "data", None)  # webargs' MultiDictProxy over request.args
        if hasattr(raw, "getlist"):
            by_key = {field.data_key or name: field for name, field in self.fields.items()}
            repeated = {
                key: ["Give this parameter once."]
                for key in raw
                if len(raw.getlist(key)) > 1 and not isinstance(by_key.get(key), fields.List)
            }
            if repeated:
                raise ValidationError(repeated)
        return data


class PaginationArgsSchema(QueryArgsSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def page_envelope_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A named envelope schema so each list is documented with its own item type."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "page_size": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
        },
        name=name,
    )


def paginate(
    stmt: Select,
    page: int,
    page_size: int,
    *,
    transform: Callable[[list[Any]], list[Any]] | None = None,
    scalars: bool = True,
) -> dict:
    """Run a count and one page of `stmt`; `transform` may bulk-load related rows."""
    total = db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    page_stmt = stmt.limit(page_size).offset((page - 1) * page_size)
    result = db.session.execute(page_stmt)
    rows = list(result.scalars()) if scalars else list(result)
    if transform is not None:
        rows = transform(rows)
    return {
        "items": rows,
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": math.ceil(total / page_size) if total else 0,
    }
