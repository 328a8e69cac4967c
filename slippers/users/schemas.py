"""Admin views of users."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from slippers.auth.schemas import UserSchema
from slippers.fields import BoundedString, Email, Phone
from slippers.pagination import PaginationArgsSchema, page_envelope_schema


class UserQueryArgsSchema(PaginationArgsSchema):
    q = fields.String(load_default=None, validate=validate.Length(max=100))


class UserUpdateSchema(Schema):
    name = BoundedString(100, allow_none=True)
    surname = BoundedString(100, allow_none=True)
    email = Email(allow_none=True)
    phone_number = Phone(allow_none=True)
    is_admin = fields.Boolean()
    is_active = fields.Boolean()


UserPageSchema = page_envelope_schema(UserSchema, "UserPage")
