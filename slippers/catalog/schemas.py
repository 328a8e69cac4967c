"""Request and response bodies of the catalog routes."""

from __future__ import annotations

import re
import unicodedata
from decimal import InvalidOperation

from flask_smorest.fields import Upload
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from slippers.fields import Flag
from slippers.fields import Money as SharedMoney
from slippers.pagination import PaginationArgsSchema, QueryArgsSchema, page_envelope_schema

SORT_KEYS = ("name", "-name", "price", "-price", "created_at", "-created_at")
SIZE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z ./-]{0,15}$")
MAX_QUANTITY = 1_000_000
MAX_DB_ID = 2_147_483_647
# The same rules as _plain_text / _not_blank, written for the OpenAPI spec (ECMA regex).
_CONTROL = r"\u0000-\u001f\u007f-\u009f"
_BLANK = r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
LINE_PATTERN = f"^[^{_CONTROL}]*$"
NAME_PATTERN = f"^[^{_CONTROL}]*[^{_BLANK}][^{_CONTROL}]*$"
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


def _plain_text(*, multiline: bool):
    """Refuse control characters (NUL breaks PostgreSQL) and lone surrogates."""
    allowed = {"\n", "\r", "\t"} if multiline else set()

    def check(value: str) -> None:
        for char in value:
            if char in allowed:
                continue
            if unicodedata.category(char) in {"Cc", "Cs"}:
                raise ValidationError("Contains characters that are not allowed.")

    return check


class Money(SharedMoney):
    """The shared Money field, plus: huge exponents ("1e30") are 422, not a crash."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except InvalidOperation as exc:
            raise self.make_error("range") from exc


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


class TrimmedString(fields.String):
    """A string with surrounding whitespace removed before validation."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def Name(max_len: int, **kwargs) -> TrimmedString:  # noqa: N802
    return TrimmedString(
        validate=[validate.Length(min=1, max=max_len), _not_blank, _plain_text(multiline=False)],
        metadata={"pattern": NAME_PATTERN, "description": "No control characters; not blank."},
        **kwargs,
    )


def Description(max_len: int, **kwargs) -> fields.String:  # noqa: N802
    return fields.String(
        validate=[validate.Length(max=max_len), _plain_text(multiline=True)],
        allow_none=True,
        metadata={"pattern": TEXT_PATTERN, "description": "Line breaks and tabs allowed."},
        **kwargs,
    )


def Size(**kwargs) -> TrimmedString:  # noqa: N802
    return TrimmedString(
        validate=validate.Regexp(SIZE_RE, error="1-16 characters of letters, digits, ' ./-'."),
        metadata={"example": "42"},
        **kwargs,
    )


def DbId(**kwargs) -> fields.Integer:  # noqa: N802
    return fields.Integer(validate=validate.Range(min=1, max=MAX_DB_ID), **kwargs)


# Categories


class CategorySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    description = fields.String(dump_only=True, allow_none=True)
    is_active = fields.Boolean(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class CategoryCreateSchema(Schema):
    """Also the body of PUT: omitted optional fields go back to their defaults."""

    name = Name(100, required=True)
    description = Description(2000, load_default=None)
    is_active = Flag(load_default=True)


class CategoryUpdateSchema(Schema):
    name = Name(100)
    description = Description(2000)
    is_active = Flag()


class CategoryQueryArgsSchema(QueryArgsSchema):
    include_inactive = fields.Boolean(
        load_default=False,
        metadata={"description": "Admins only: also list inactive categories (else 401/403)."},
    )


# Slippers


class SlipperImageSchema(Schema):
    id = fields.Integer(dump_only=True)
    url = fields.String(dump_only=True, metadata={"example": "/uploads/3f2a....jpg"})
    is_primary = fields.Boolean(dump_only=True)
    order_index = fields.Integer(dump_only=True)


class SlipperSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    description = fields.String(dump_only=True, allow_none=True)
    size = fields.String(dump_only=True)
    price = Money(dump_only=True, metadata={"example": "189000.00"})
    quantity = fields.Integer(dump_only=True)
    in_stock = fields.Boolean(dump_only=True)
    category_id = fields.Integer(dump_only=True, allow_none=True)
    category_name = fields.String(dump_only=True, allow_none=True)
    primary_image_url = fields.String(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
    images = fields.List(
        fields.Nested(SlipperImageSchema),
        dump_only=True,
        metadata={"description": "Only with include_images=true, and on the detail route."},
    )


class SlipperCreateSchema(Schema):
    """Also the body of PUT: an omitted description is cleared."""

    name = Name(200, required=True)
    description = Description(5000, load_default=None)
    size = Size(required=True)
    price = Money(required=True, metadata={"example": "189000.00"})
    quantity = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=0, max=MAX_QUANTITY)
    )
    category_id = DbId(strict=True, required=True)


class SlipperUpdateSchema(Schema):
    name = Name(200)
    description = Description(5000)
    size = Size()
    price = Money(metadata={"example": "189000.00"})
    quantity = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_QUANTITY))
    category_id = DbId(strict=True)


class SlipperQueryArgsSchema(PaginationArgsSchema):
    q = TrimmedString(
        load_default=None,
        validate=[validate.Length(max=100), _plain_text(multiline=False)],
        metadata={
            "description": "Case-insensitive substring of name, description or size.",
            "pattern": LINE_PATTERN,
        },
    )
    category_id = DbId(load_default=None)
    min_price = Money(load_default=None, metadata={"description": "Inclusive."})
    max_price = Money(load_default=None, metadata={"description": "Inclusive."})
    size = TrimmedString(
        load_default=None,
        validate=[validate.Length(max=16), _plain_text(multiline=False)],
        metadata={"description": "Exact size, e.g. 42.", "pattern": LINE_PATTERN},
    )
    in_stock = fields.Boolean(
        load_default=None, metadata={"description": "true: quantity > 0; false: sold out only."}
    )
    sort = fields.String(
        load_default="-created_at",
        validate=validate.OneOf(SORT_KEYS),
        metadata={"description": "Ties are broken by id in the same direction."},
    )
    include_images = fields.Boolean(load_default=False)

    @post_load
    def _blank_means_absent(self, data, **kwargs):
        for name in ("q", "size"):
            if data.get(name) == "":
                data[name] = None
        return data

    @validates_schema
    def _price_range(self, data, **kwargs):
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise ValidationError("Must not be greater than max_price.", "min_price")


class ImageUploadSchema(Schema):
    class Meta:
        # Other multipart parts are ignored (webargs reads only the files, and excludes
        # unknown ones); the spec says so instead of claiming additionalProperties: false.
        unknown = EXCLUDE

    images = fields.List(
        Upload(),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "JPEG, PNG or WebP files; repeat the field for several."},
    )


SlipperPageSchema = page_envelope_schema(SlipperSchema, "SlipperPage")
