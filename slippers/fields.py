"""Marshmallow fields and validators shared by the domains' schemas."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,32}$")
PHONE_RE = re.compile(r"^\+[0-9]{7,15}$")
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)


class Money(fields.Field):
    """Exact money: a JSON number or decimal string in, a two-place string out."""

    default_error_messages = {
        "invalid": "Not a valid amount.",
        "places": "At most two decimal places.",
        "range": "Must be between 0 and 9999999999.99.",
    }

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.make_error("invalid")
        text = repr(value) if isinstance(value, float) else str(value).strip()
        if len(text) > 32:
            raise self.make_error("invalid")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise self.make_error("invalid") from exc
        if not amount.is_finite():
            raise self.make_error("invalid")
        if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
            raise self.make_error("places")
        if amount < 0 or amount > MAX_MONEY:
            raise self.make_error("range")
        return amount.quantize(Decimal("0.01"))


def Username(**kwargs) -> fields.String:  # noqa: N802
    return fields.String(
        validate=validate.Regexp(USERNAME_RE, error="3-32 characters of A-Z a-z 0-9 _ . -"),
        **kwargs,
    )


def Phone(**kwargs) -> fields.String:  # noqa: N802
    return fields.String(
        validate=validate.Regexp(PHONE_RE, error="'+' followed by 7-15 digits"), **kwargs
    )


def Email(**kwargs) -> fields.Email:  # noqa: N802
    return fields.Email(validate=validate.Length(max=254), **kwargs)


def BoundedString(max_len: int, min_len: int = 0, **kwargs) -> fields.String:  # noqa: N802
    return fields.String(validate=validate.Length(min=min_len, max=max_len), **kwargs)


def strip_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def require_not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")
