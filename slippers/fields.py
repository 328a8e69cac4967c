"""Marshmallow fields and validators shared by the domains' schemas."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

from marshmallow import ValidationError, fields, validate

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,32}$")
PHONE_RE = re.compile(r"^\+[0-9]{7,15}$")
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)


# A money string as clients send it: up to 10 digits, at most 2 decimal places, spaces around
# allowed. ASCII digits only (Decimal() would also take "1e2", "1_000" or Arabic-Indic digits).
MONEY_TEXT_RE = re.compile(r" *[0-9]{1,10}(\.[0-9]{1,2})? *")
MONEY_IN_DOC = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": float(MAX_MONEY), "multipleOf": 0.01},
        {"type": "string", "pattern": f"^{MONEY_TEXT_RE.pattern}$"},
    ],
    "description": "A number or a decimal string, at most 2 decimal places.",
}
MONEY_OUT_DOC = {
    "type": "string",
    "format": "decimal",
    "pattern": "^[0-9]+\\.[0-9]{2}$",
    "example": "19.99",
}


class Money(fields.Field):
    """Exact money: a JSON number or decimal string in, a two-place string out.

    Documents itself in OpenAPI: the accepted number/string forms on requests, the
    two-place string on responses.
    """

    default_error_messages = {
        "invalid": "Not a valid amount: a number or a string like 19.99.",
        "places": "At most two decimal places.",
        "range": "Must be between 0 and 9999999999.99.",
    }

    def __init__(self, **kwargs):
        doc = MONEY_OUT_DOC if kwargs.get("dump_only") else MONEY_IN_DOC
        kwargs["metadata"] = {**doc, **(kwargs.get("metadata") or {})}
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.make_error("invalid")
        if isinstance(value, str):
            if not MONEY_TEXT_RE.fullmatch(value):
                raise self.make_error("invalid")
            return Decimal(value.strip(" ")).quantize(Decimal("0.01"))
        if isinstance(value, float) and not math.isfinite(value):
            raise self.make_error("invalid")
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        # Range before places: quantizing a huge number (1e300) would raise.
        if amount < 0 or amount > MAX_MONEY:
            raise self.make_error("range")
        if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
            raise self.make_error("places")
        return amount.quantize(Decimal("0.01"))


class FullMatch(validate.Regexp):
    """`validate.Regexp` over the whole value: Python's `$` also matches before a final
    newline, which the same pattern in the OpenAPI spec (ECMA regex) does not."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class Flag(fields.Boolean):
    """A JSON `true` or `false` and nothing else, for request bodies (marshmallow's Boolean
    also takes 0, 1, "yes", "off", ... which the OpenAPI `boolean` type does not)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def Username(**kwargs) -> fields.String:  # noqa: N802
    return fields.String(
        validate=FullMatch(USERNAME_RE, error="3-32 characters of A-Z a-z 0-9 _ . -"),
        **kwargs,
    )


def Phone(**kwargs) -> fields.String:  # noqa: N802
    return fields.String(
        validate=FullMatch(PHONE_RE, error="'+' followed by 7-15 digits"), **kwargs
    )


def Email(**kwargs) -> fields.Email:  # noqa: N802
    return fields.Email(validate=validate.Length(max=254), **kwargs)


def BoundedString(max_len: int, min_len: int = 0, **kwargs) -> fields.String:  # noqa: N802
    return fields.String(validate=validate.Length(min=min_len, max=max_len), **kwargs)


# C0 and C1 control characters: PostgreSQL refuses NUL in any text, the rest is never text.
CONTROL_CHARS_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PLAIN_TEXT_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"


def _no_control_chars(value: str) -> None:
    if CONTROL_CHARS_RE.search(value):
        raise ValidationError("Control characters are not allowed.")


def PlainString(max_len: int, min_len: int = 0, **kwargs) -> fields.String:  # noqa: N802
    """A bounded one-line string without control characters (documented as a pattern)."""
    metadata = {"pattern": PLAIN_TEXT_PATTERN, **(kwargs.pop("metadata", None) or {})}
    return fields.String(
        validate=[validate.Length(min=min_len, max=max_len), _no_control_chars],
        metadata=metadata,
        **kwargs,
    )


def strip_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def require_not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")
