"""Request and response bodies of the auth routes."""

from __future__ import annotations

from marshmallow import Schema, fields

from slippers.auth.passwords import MAX_LENGTH, MIN_LENGTH
from slippers.fields import BoundedString, Email, Phone, PlainString, Username


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    email = fields.String(dump_only=True, allow_none=True)
    phone_number = fields.String(dump_only=True, allow_none=True)
    name = fields.String(dump_only=True, allow_none=True)
    surname = fields.String(dump_only=True, allow_none=True)
    is_admin = fields.Boolean(dump_only=True)
    is_active = fields.Boolean(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


def NewPassword(**kwargs) -> fields.String:  # noqa: N802
    return BoundedString(
        MAX_LENGTH,
        min_len=MIN_LENGTH,
        metadata={"description": "8-128 characters, not a common password"},
        **kwargs,
    )


class RegisterSchema(Schema):
    username = Username(required=True)
    password = NewPassword(required=True)
    email = Email(load_default=None, allow_none=True)
    phone_number = Phone(load_default=None, allow_none=True)
    name = PlainString(100, load_default=None, allow_none=True)
    surname = PlainString(100, load_default=None, allow_none=True)


class LoginSchema(Schema):
    username = PlainString(
        254, min_len=1, required=True, metadata={"description": "Username, e-mail or phone number"}
    )
    password = BoundedString(256, min_len=1, required=True)


class TokenResponseSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "bearer"})
    user = fields.Nested(UserSchema, required=True)


class MessageSchema(Schema):
    message = fields.String(required=True)


class PasswordChangeSchema(Schema):
    current_password = BoundedString(256, min_len=1, required=True)
    new_password = NewPassword(required=True)


class ForgotPasswordSchema(Schema):
    username = PlainString(254, min_len=1, required=True)


class ResetConfirmSchema(Schema):
    username = PlainString(254, min_len=1, required=True)
    code = PlainString(64, min_len=1, required=True)
    new_password = NewPassword(required=True)
