"""Auth routes: thin wrappers over slippers.auth.service."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_jwt_extended import get_jwt, set_access_cookies, set_refresh_cookies, unset_jwt_cookies
from flask_smorest import Blueprint

from slippers.auth import service
from slippers.auth.access import current_session, current_user, login_required
from slippers.auth.schemas import (
    ForgotPasswordSchema,
    LoginSchema,
    MessageSchema,
    PasswordChangeSchema,
    RegisterSchema,
    ResetConfirmSchema,
    TokenResponseSchema,
    UserSchema,
)
from slippers.http import client_ip
from slippers.responses import schema_response

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Accounts and sessions")


def _token_response(user, tokens):
    body = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "token_type": "bearer",
        "user": user,
    }
    return body


def _with_cookies(response, tokens):
    set_access_cookies(response, tokens.access_token)
    set_refresh_cookies(response, tokens.refresh_token)
    return response


@blp.route("/register")
class Register(MethodView):
    @blp.arguments(RegisterSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Create an account (never an admin)."""
        return service.register_user(data)


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenResponseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, data):
        """Log in with username, e-mail or phone; tokens in the body and as cookies."""
        user, tokens = service.login(
            data["username"], data["password"], client_ip(), request.user_agent.string
        )
        response = schema_response(TokenResponseSchema, _token_response(user, tokens))
        return _with_cookies(response, tokens)


@blp.route("/refresh")
class Refresh(MethodView):
    @login_required(blp, refresh=True)
    @blp.response(200, TokenResponseSchema)
    def post(self):
        """Rotate: a new access and refresh token; the used refresh token dies."""
        user = current_user()
        tokens = service.rotate_refresh(user, current_session(), get_jwt()["jti"])
        response = schema_response(TokenResponseSchema, _token_response(user, tokens))
        return _with_cookies(response, tokens)


@blp.route("/logout")
class Logout(MethodView):
    @login_required(blp)
    @blp.response(200, MessageSchema)
    def post(self):
        """Revoke this login's access and refresh tokens and clear the cookies."""
        service.logout(current_session())
        response = schema_response(MessageSchema, {"message": "Logged out"})
        unset_jwt_cookies(response)
        return response


@blp.route("/me")
class Me(MethodView):
    @login_required(blp)
    @blp.response(200, UserSchema)
    def get(self):
        """The current user."""
        return current_user()


@blp.route("/reset-password")
class ChangePassword(MethodView):
    @login_required(blp)
    @blp.arguments(PasswordChangeSchema)
    @blp.response(200, TokenResponseSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    def post(self, data):
        """Change the password; every other session is revoked, this one gets new tokens."""
        user = current_user()
        tokens = service.change_password(
            user,
            current_session(),
            data["current_password"],
            data["new_password"],
            client_ip(),
            request.user_agent.string,
        )
        response = schema_response(TokenResponseSchema, _token_response(user, tokens))
        return _with_cookies(response, tokens)


@blp.route("/forgot-password")
class ForgotPassword(MethodView):
    @blp.arguments(ForgotPasswordSchema)
    @blp.response(202, MessageSchema)
    def post(self, data):
        """Send a single-use reset code (always 202: no user enumeration)."""
        service.request_password_reset(data["username"])
        return {"message": "If the account exists, a reset code has been sent"}


@blp.route("/reset-password/confirm")
class ConfirmReset(MethodView):
    @blp.arguments(ResetConfirmSchema)
    @blp.response(200, MessageSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    def post(self, data):
        """Set a new password with a reset code; every session is revoked."""
        service.confirm_password_reset(data["username"], data["code"], data["new_password"])
        return {"message": "Password has been reset"}
