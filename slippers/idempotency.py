"""`Idempotency-Key` for unsafe routes: a retried request replays its first answer.

Put `@idempotent(blp)` right under the auth decorator (the key is per user)::

    @login_required(blp)
    @idempotent(blp)
    @blp.arguments(...)
    @blp.response(201, ...)
    def post(self, data): ...

Same user + key + request (method, path, canonical JSON body) within
`IDEMPOTENCY_TTL_HOURS` → the first response again (status and body, plus
`Idempotency-Replayed: true`) and nothing is done. Same key, other request → 422. Same
request while the first still runs → 409: the in-progress row is committed before the work
starts, so a concurrent duplicate meets the unique (user_id, key) constraint.

Stored: final 2xx and 4xx answers (a 4xx is as final as a 2xx: the same body gets the same
answer). Not stored: 5xx answers and crashes — the row is deleted, so a retry with the same
key runs again (a gateway error or timeout must stay retryable). If the process dies
between the work's commit and storing the answer, the key stays "in progress" (409) until it
expires: a duplicate is refused rather than done twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from functools import wraps

from flask import Response, current_app, request
from sqlalchemy import delete, select, update
from werkzeug.exceptions import HTTPException

from slippers.auth.access import current_user
from slippers.db_types import utcnow
from slippers.error_handlers import handle_app_error, handle_http_exception
from slippers.errors import AppError, Conflict, Unprocessable
from slippers.extensions import db
from slippers.orders.models import IdempotencyRecord
from slippers.orders.sql import dialect_insert

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"
IN_PROGRESS, DONE = "in_progress", "done"
_KEY_RE = re.compile(r"^[\x20-\x7e]{1,255}$")

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    "description": (
        "Optional; 1-255 printable ASCII characters, per user. Repeating the same request "
        "with the same key within 24 hours replays the first answer (with "
        "`Idempotency-Replayed: true`) and does nothing; the same key with a different "
        "request is 422; while the first request is still running, 409."
    ),
}


def idempotent(blp):
    """Decorator (under the auth decorator) making a route honour `Idempotency-Key`."""

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER)
            user = current_user()
            if key is None or user is None:
                return fn(*args, **kwargs)
            if not _KEY_RE.match(key):
                raise Unprocessable(
                    f"Invalid {HEADER}",
                    errors={HEADER: ["1 to 255 printable ASCII characters."]},
                )
            path = _normalized_path()
            fingerprint = request_fingerprint(request.method, path, _parsed_body())
            claimed = _claim(user.id, key, request.method, path, fingerprint)
            if isinstance(claimed, Response):
                return claimed
            return _run_and_store(claimed, fn, args, kwargs)

        wrapper = blp.doc(parameters=[HEADER_DOC])(wrapper)
        documented = getattr(fn, "_apidoc", {}).get("response", {}).get("responses", {})
        if 409 not in documented:  # keep the route's own, more specific 409 text
            wrapper = blp.alt_response(409, response="CONFLICT")(wrapper)
        return wrapper

    return decorator


def request_fingerprint(method: str, path: str, body) -> str:
    """sha256 of the method, the path and the body as canonical JSON (sorted keys)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def _normalized_path() -> str:
    """`/orders` and `/orders/` are one route (strict_slashes off), so one request."""
    return (request.path.rstrip("/") or "/")[:255]


def _parsed_body():
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # absurdly nested JSON: the raw bytes still identify it
        body = None
    if body is None:  # no body, or not JSON: fall back on the raw bytes
        return request.get_data(cache=True).decode("latin-1")
    return body


def _claim(user_id: int, key: str, method: str, path: str, fingerprint: str):
    """Commit an in-progress record and return its id, or the answer owed instead."""
    now = utcnow()
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    table = IdempotencyRecord.__table__.c
    for _attempt in range(3):
        # Expired records of this user are replaced (and do not pile up).
        db.session.execute(
            delete(IdempotencyRecord).where(table.user_id == user_id, table.expires_at <= now)
        )
        inserted = db.session.execute(
            dialect_insert(IdempotencyRecord)
            .values(
                user_id=user_id,
                key=key,
                method=method,
                path=path,
                request_hash=fingerprint,
                state=IN_PROGRESS,
                created_at=now,
                expires_at=now + ttl,
            )
            .on_conflict_do_nothing(index_elements=[table.user_id, table.key])
            .returning(table.id)
        ).scalar_one_or_none()
        db.session.commit()
        if inserted is not None:
            return inserted
        existing = db.session.execute(
            select(
                table.request_hash, table.state, table.response_status, table.response_body
            ).where(table.user_id == user_id, table.key == key, table.expires_at > now)
        ).first()
        if existing is None:
            continue  # released or expired in between: try to claim it again
        if existing.request_hash != fingerprint:
            raise Unprocessable(f"This {HEADER} was already used for a different request")
        if existing.state != DONE:
            raise Conflict(f"A request with this {HEADER} is still in progress")
        return _replay(existing.response_status, existing.response_body)
    raise Conflict(f"A request with this {HEADER} is still in progress")


def _run_and_store(record_id: int, fn, args, kwargs) -> Response:
    try:
        response = current_app.make_response(fn(*args, **kwargs))
    except (AppError, HTTPException) as exc:
        db.session.rollback()
        response = (
            handle_app_error(exc) if isinstance(exc, AppError) else handle_http_exception(exc)
        )
    except BaseException:
        db.session.rollback()
        _release(record_id)
        raise
    if response.status_code >= 500:
        db.session.rollback()
        _release(record_id)
        return response
    db.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(
            state=DONE,
            response_status=response.status_code,
            response_body=response.get_data(as_text=True),
        )
    )
    db.session.commit()
    return response


def _release(record_id: int) -> None:
    """Forget an unfinished attempt so that a retry with the same key can run."""
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()


def _replay(status: int, body: str | None) -> Response:
    response = Response(body or "", status=status, mimetype="application/json")
    response.headers[REPLAYED_HEADER] = "true"
    return response
