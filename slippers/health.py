"""Liveness and readiness probes."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from slippers.errors import ServiceUnavailable
from slippers.extensions import db

blp = Blueprint("health", __name__, url_prefix="/health", description="Service probes")


class HealthSchema(Schema):
    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String())


@blp.route("")
class Liveness(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """Liveness: the process answers (no database)."""
        return {"status": "ok"}


@blp.route("/ready")
class Readiness(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self):
        """Readiness: the database (and Redis when configured) answer."""
        checks = {"database": _check_database()}
        if current_app.config.get("REDIS_URL"):
            checks["redis"] = _check_redis(current_app.config["REDIS_URL"])
        failed = sorted(name for name, state in checks.items() if state != "ok")
        if failed:
            raise ServiceUnavailable(f"Not ready: {', '.join(failed)} unavailable", errors=checks)
        return {"status": "ok", "checks": checks}


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return "ok"
    except Exception:  # noqa: BLE001 - any failure means not ready
        db.session.rollback()
        return "unavailable"


def _check_redis(url: str) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return "ok"
    except Exception:  # noqa: BLE001
        return "unavailable"
