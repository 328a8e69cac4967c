"""Admin views of users."""

from __future__ import annotations

from marshmallow import Schema

from slippers.auth.schemas import UserSchema
from slippers.fields import Email, Flag, Phone, PlainString
from slippers.pagination import PaginationArgsSchema, page_envelope_schema

MAX_DB_ID = 2**31 - 1


class UserQueryArgsSchema(PaginationArgsSchema):
    q = PlainString(100, load_default=None)


class UserUpdateSchema(Schema):
    name = PlainString(100, allow_none=True)
    surname = PlainString(100, allow_none=True)
    email = Email(allow_none=True)
    phone_number = Phone(allow_none=True)
    is_admin = Flag()
    is_active = Flag()


UserPageSchema = page_envelope_schema(UserSchema, "UserPage")
