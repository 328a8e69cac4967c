"""Small helpers shared by the sandbox's views."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Response, current_app, g, request

from slippers.octo_sim.state import MESSAGE_FIELDS, SimState
from slippers.payments.octo_protocol import dumps_json


class SimError(Exception):
    """An OCTO business error: answered as HTTP 200 with `error != 0`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sim_state() -> SimState:
    return current_app.extensions["octo_sim"]


def json_response(body: Any, status: int = 200) -> Response:
    """JSON with exact Decimal numbers, as OCTO sends amounts (Flask would send strings)."""
    return Response(dumps_json(body), status=status, mimetype="application/json")


def error_body(
    code: int, message: str, message_fields: tuple[str, ...] = MESSAGE_FIELDS
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "data": None}
    for key in message_fields:
        body[key] = message
    return body


def request_json() -> Any:
    """The request body parsed once per request, floats as Decimal; None when not JSON."""
    if "octo_body" not in g:
        try:
            g.octo_body = json.loads(request.get_data(cache=True) or b"null", parse_float=Decimal)
        except ValueError:
            g.octo_body = None
    return g.octo_body
