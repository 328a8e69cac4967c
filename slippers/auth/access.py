"""Route guards that also document themselves in the OpenAPI spec."""

from __future__ import annotations

from functools import wraps

from flask import g
from flask_jwt_extended import verify_jwt_in_request

from slippers.errors import Forbidden

SECURITY = [{"bearerAuth": []}, {"cookieAuth": []}]


def current_user():
    """The authenticated user of this request, or None."""
    return g.get("auth_user")


def current_session():
    return g.get("auth_session")


def _guard(blp, *, admin: bool, refresh: bool, optional: bool):
    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request(refresh=refresh, optional=optional)
            user = current_user()
            if admin and not user.is_admin:
                raise Forbidden("Administrator access required")
            return fn(*args, **kwargs)

        wrapper = blp.doc(security=SECURITY)(wrapper)
        if not optional:
            wrapper = blp.alt_response(401, response="UNAUTHORIZED")(wrapper)
        if admin:
            wrapper = blp.alt_response(403, response="FORBIDDEN")(wrapper)
        return wrapper

    return decorator


def login_required(blp, *, refresh: bool = False):
    return _guard(blp, admin=False, refresh=refresh, optional=False)


def admin_required(blp):
    return _guard(blp, admin=True, refresh=False, optional=False)


def login_optional(blp):
    """Anonymous allowed; a valid token (e.g. an admin's) is still read."""
    return _guard(blp, admin=False, refresh=False, optional=True)
