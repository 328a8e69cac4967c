"""What the OpenAPI document says about every operation: the one error shape, security
schemes, and the headers every response carries (slippers/http.py sets them on each one)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from flask_smorest import Api

# Component name -> header name and description. Every response has them: success,
# error, 304, 429, whatever raised it.
COMMON_HEADERS = {
    "X_REQUEST_ID": (
        "X-Request-ID",
        "The request's id: echoed when the request sent a sane one, else generated. "
        "It is in the server's log line for this request.",
    ),
    "SERVER_TIMING": ("Server-Timing", "Time the application spent: `app;dur=<ms>`."),
}


class ErrorSchema(ma.Schema):
    """The one error shape of API.md (documentation only: errors.py renders it)."""

    code = ma.fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    status = ma.fields.String(
        required=True, metadata={"description": "The status phrase, e.g. `Conflict`"}
    )
    message = ma.fields.String(required=True, metadata={"description": "What went wrong"})
    errors = ma.fields.Dict(
        metadata={"description": "Per-field messages (validation) or details of a refusal"}
    )


class ShopApi(Api):
    """flask-smorest's Api, documenting errors with the shop's own error schema."""

    ERROR_SCHEMA = ErrorSchema


RATE_LIMITED = "RATE_LIMITED"
RATE_LIMIT_HEADERS = {
    "Retry-After": "Seconds until the budget has room again.",
    "X-RateLimit-Limit": "The budget of the window.",
    "X-RateLimit-Remaining": "What is left of it: 0.",
    "X-RateLimit-Reset": "When the window resets (Unix seconds).",
}


class CommonResponseHeaders(BasePlugin):
    """Adds the common headers to every response the spec describes (the inline ones of each
    operation and the shared response components alike), and the rate limit's 429 to every
    operation that draws from the per-IP budget (all but `never_limited` paths)."""

    def __init__(self, never_limited: tuple[str, ...] = ()) -> None:
        self.never_limited = never_limited

    def response_helper(self, response: dict, **kwargs: Any) -> dict:
        return {"headers": _with_common_headers((response or {}).get("headers"))}

    def operation_helper(self, path=None, operations=None, **kwargs: Any) -> None:
        limited = (path or "").rstrip("/") not in self.never_limited
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for response in responses.values():
                if isinstance(response, dict):  # a named component got them already
                    response["headers"] = _with_common_headers(response.get("headers"))
            if limited and 429 not in responses and "429" not in responses:
                responses["429"] = RATE_LIMITED


def _with_common_headers(headers: dict | None) -> dict:
    return {**(headers or {}), **{name: ref for ref, (name, _) in COMMON_HEADERS.items()}}


def register_components(spec) -> None:
    """Header and response components, and the cookie/Bearer security schemes ("Authorize"
    in /docs)."""
    for component, (_, description) in COMMON_HEADERS.items():
        spec.components.header(
            component, {"description": description, "required": True, "schema": {"type": "string"}}
        )
    spec.components.response(
        RATE_LIMITED,
        {
            "description": "Over the per-IP request budget (RATE_LIMIT_REQUESTS per "
            "RATE_LIMIT_WINDOW_SEC, shared by every worker and host with Redis)",
            "content": {"application/json": {"schema": ErrorSchema}},
            "headers": {
                name: {"description": text, "required": True, "schema": {"type": "integer"}}
                for name, text in RATE_LIMIT_HEADERS.items()
            },
        },
    )
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.security_scheme(
        "cookieAuth", {"type": "apiKey", "in": "cookie", "name": "access_token_cookie"}
    )
