"""JWT issuing and checking: every token belongs to a login session that can be revoked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Flask, g
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import select

from slippers.auth.models import AuthSession, User
from slippers.auth.throttle import init_login_throttle
from slippers.db_types import utcnow
from slippers.error_handlers import json_error
from slippers.extensions import db, jwt


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str


def issue_tokens(user: User, session: AuthSession) -> TokenPair:
    claims = {"sid": session.id}
    access = create_access_token(identity=str(user.id), additional_claims=claims)
    refresh = create_refresh_token(
        identity=str(user.id), additional_claims={**claims, "jti": session.refresh_jti}
    )
    return TokenPair(access, refresh)


def new_jti() -> str:
    return str(uuid.uuid4())


def _session_is_live(jwt_data: dict) -> bool:
    """One indexed read per request: the session and its user, both still good."""
    sid = jwt_data.get("sid")
    if not sid:
        return False
    row = db.session.execute(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.id == sid)
    ).first()
    if row is None:
        return False
    session, user = row
    if session.revoked_at is not None or not user.is_active:
        return False
    if str(user.id) != str(jwt_data.get("sub")) or session.expires_at <= utcnow():
        return False
    g.auth_session = session
    g.auth_user = user
    return True


def _unauthorized(message: str):
    return json_error(401, message)


def init_jwt(app: Flask) -> None:
    jwt.init_app(app)
    init_login_throttle(app)

    @jwt.token_in_blocklist_loader
    def _is_revoked(_header, jwt_data):
        return not _session_is_live(jwt_data)

    @jwt.user_lookup_loader
    def _load_user(_header, _jwt_data):
        return g.get("auth_user")

    jwt.unauthorized_loader(lambda reason: _unauthorized(f"Not authenticated: {reason}"))
    jwt.invalid_token_loader(lambda reason: _unauthorized(f"Invalid token: {reason}"))
    jwt.expired_token_loader(lambda _h, _d: _unauthorized("Token has expired"))
    jwt.revoked_token_loader(lambda _h, _d: _unauthorized("Token has been revoked"))
    jwt.user_lookup_error_loader(lambda _h, _d: _unauthorized("User not found or inactive"))
    jwt.token_verification_failed_loader(lambda _h, _d: _unauthorized("Token was refused"))
    jwt.needs_fresh_token_loader(lambda _h, _d: _unauthorized("A fresh login is required"))
