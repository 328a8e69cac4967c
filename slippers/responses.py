"""Building a response by hand when a route must also set cookies or headers."""

from __future__ import annotations

from flask import jsonify
from marshmallow import Schema


def schema_response(schema: type[Schema], data, status: int = 200):
    response = jsonify(schema().dump(data))
    response.status_code = status
    return response
