"""Accounts and sessions: register, login, rotate, revoke, change and reset passwords."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from slippers.auth.models import AuthSession, PasswordResetCode, User
from slippers.auth.passwords import hash_password, password_problem, verify_password
from slippers.auth.throttle import login_throttle
from slippers.auth.tokens import TokenPair, issue_tokens, new_jti
from slippers.db_types import utcnow
from slippers.errors import BadRequest, Conflict, Forbidden, Unauthorized, Unprocessable
from slippers.extensions import db

log = logging.getLogger("slippers.auth")
LOGIN_FAILED = "Invalid username or password"
RESET_FAILED = "Invalid or expired reset code"
MAX_RESET_ATTEMPTS = 5


def normalize_email(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def check_password_policy(password: str, field: str = "password") -> None:
    problem = password_problem(password)
    if problem:
        raise Unprocessable("Validation failed", errors={field: [problem]})


def find_unique_conflict(
    *, username: str | None, email: str | None, phone: str | None, exclude_id: int | None = None
) -> str | None:
    """The first of username/email/phone_number already used by another user."""
    checks = (
        ("username", User.username_key, username.lower() if username else None),
        ("email", User.email, email),
        ("phone_number", User.phone_number, phone),
    )
    for field, column, value in checks:
        if value is None:
            continue
        stmt = select(User.id).where(column == value)
        if exclude_id is not None:
            stmt = stmt.where(User.id != exclude_id)
        if db.session.execute(stmt.limit(1)).first():
            return field
    return None


def raise_duplicate(field: str):
    raise Conflict(f"A user with this {field} already exists", errors={field: ["Already taken."]})


def register_user(data: dict) -> User:
    check_password_policy(data["password"])
    email = normalize_email(data.get("email"))
    conflict = find_unique_conflict(
        username=data["username"], email=email, phone=data.get("phone_number")
    )
    if conflict:
        raise_duplicate(conflict)
    user = User(
        username=data["username"],
        username_key=data["username"].lower(),
        email=email,
        phone_number=data.get("phone_number"),
        name=data.get("name"),
        surname=data.get("surname"),
        password_hash=hash_password(data["password"]),
        is_admin=False,
        is_active=True,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:  # a concurrent registration won the race
        db.session.rollback()
        raise Conflict("A user with this username, email or phone already exists") from exc
    return user


def find_user_by_login(identifier: str) -> User | None:
    """Login accepts a username, an e-mail address or a phone number."""
    ident = identifier.strip()
    if ident.startswith("+"):
        column, value = User.phone_number, ident
    elif "@" in ident:
        column, value = User.email, ident.lower()
    else:
        column, value = User.username_key, ident.lower()
    return db.session.execute(select(User).where(column == value)).scalar_one_or_none()


def _open_session(user: User, ip: str | None, user_agent: str | None) -> AuthSession:
    now = utcnow()
    session = AuthSession(
        id=str(secrets.token_hex(16)),
        user_id=user.id,
        refresh_jti=new_jti(),
        created_at=now,
        expires_at=now + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
        ip_address=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:256] or None,
    )
    db.session.add(session)
    return session


def login(identifier: str, password: str, ip: str, user_agent: str | None):
    throttle = login_throttle()
    account = identifier.strip().lower()[:254]
    throttle.check(ip, account)
    user = find_user_by_login(identifier)
    password_ok = verify_password(user.password_hash if user else None, password)
    if not (user and password_ok and user.is_active):
        throttle.record_failure(ip, account)
        raise Unauthorized(LOGIN_FAILED)
    throttle.clear_account(account)
    session = _open_session(user, ip, user_agent)
    db.session.commit()
    return user, issue_tokens(user, session)


def revoke_user_sessions(user_id: int, reason: str, keep: str | None = None) -> int:
    stmt = (
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    return db.session.execute(stmt).rowcount


def _revoke_session(session_id: str, reason: str) -> None:
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def rotate_refresh(user: User, session: AuthSession, presented_jti: str) -> TokenPair:
    """Swap the refresh token; a token already swapped means theft: the family dies."""
    fresh = new_jti()
    swapped = db.session.execute(
        update(AuthSession)
        .where(
            AuthSession.id == session.id,
            AuthSession.refresh_jti == presented_jti,
            AuthSession.revoked_at.is_(None),
        )
        .values(refresh_jti=fresh, last_refreshed_at=utcnow())
    ).rowcount
    if swapped != 1:
        _revoke_session(session.id, "refresh_reuse")
        db.session.commit()
        log.warning("refresh token reuse; session revoked", extra={"user_id": user.id})
        raise Unauthorized("Refresh token was already used; all tokens of this login are revoked")
    db.session.commit()
    session.refresh_jti = fresh
    return issue_tokens(user, session)


def logout(session: AuthSession) -> None:
    _revoke_session(session.id, "logout")
    db.session.commit()


def change_password(
    user: User, session: AuthSession, current: str, new: str, ip: str, user_agent: str | None
) -> TokenPair:
    if not verify_password(user.password_hash, current):
        raise Forbidden("Current password is wrong")
    check_password_policy(new, "new_password")
    user.password_hash = hash_password(new)
    revoke_user_sessions(user.id, "password_change")
    replacement = _open_session(user, ip, user_agent)
    db.session.commit()
    return issue_tokens(user, replacement)


def _code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def request_password_reset(identifier: str) -> None:
    """Always quiet towards the caller; a code reaches the notifier only for real users."""
    user = find_user_by_login(identifier)
    if user is None or not user.is_active:
        return
    now = utcnow()
    db.session.execute(
        update(PasswordResetCode)
        .where(PasswordResetCode.user_id == user.id, PasswordResetCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = secrets.token_urlsafe(9)
    ttl = timedelta(minutes=current_app.config["PASSWORD_RESET_CODE_TTL_MINUTES"])
    db.session.add(
        PasswordResetCode(
            user_id=user.id, code_hash=_code_digest(code), created_at=now, expires_at=now + ttl
        )
    )
    db.session.commit()
    current_app.extensions["password_reset_notifier"](user, code)


def confirm_password_reset(identifier: str, code: str, new_password: str) -> None:
    user = find_user_by_login(identifier)
    record = None
    if user is not None:
        record = db.session.execute(
            select(PasswordResetCode)
            .where(
                PasswordResetCode.user_id == user.id,
                PasswordResetCode.used_at.is_(None),
                PasswordResetCode.expires_at > utcnow(),
            )
            .order_by(PasswordResetCode.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    if record is None or not user.is_active:
        raise BadRequest(RESET_FAILED)
    if not hmac.compare_digest(record.code_hash, _code_digest(code)):
        _count_wrong_code(record)
        raise BadRequest(RESET_FAILED)
    check_password_policy(new_password, "new_password")
    used = db.session.execute(
        update(PasswordResetCode)
        .where(PasswordResetCode.id == record.id, PasswordResetCode.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if used != 1:
        db.session.rollback()
        raise BadRequest(RESET_FAILED)
    user.password_hash = hash_password(new_password)
    revoke_user_sessions(user.id, "password_reset")
    db.session.commit()


def _count_wrong_code(record: PasswordResetCode) -> None:
    """Guessing is bounded: a few wrong codes burn the code."""
    values = {"attempts": PasswordResetCode.attempts + 1}
    if record.attempts + 1 >= MAX_RESET_ATTEMPTS:
        values["used_at"] = utcnow()
    db.session.execute(
        update(PasswordResetCode).where(PasswordResetCode.id == record.id).values(**values)
    )
    db.session.commit()


def log_reset_code(user: User, code: str) -> None:
    """Development notifier: the code goes to the log only in DEBUG (never in production)."""
    if current_app.config["DEBUG"]:
        log.info(
            "password reset code issued",
            extra={"user_id": user.id, "username": user.username, "reset_code": code},
        )
    else:
        log.warning(
            "password reset requested but no notifier is configured; code not delivered",
            extra={"user_id": user.id},
        )
