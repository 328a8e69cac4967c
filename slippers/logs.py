"""Structured JSON logs: one object per line, tagged with the request id, never a secret.

`RedactingFilter` sits on the handler, so it cleans every record whichever logger emitted it
(ours, the OCTO client's, a library's): values under sensitive keys (passwords, tokens,
Authorization, cookies, card data, signatures, secrets) become "[REDACTED]", and bearer
tokens, JWTs, `password=...` pairs and card numbers inside free text are masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

REDACTED = "[REDACTED]"
_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

# Compared after lower-casing and dropping "-" and "_": "X-CSRF-TOKEN" -> "xcsrftoken".
_SENSITIVE_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "apikey",
    "signature",
    "csrf",
    "cardnumber",
    "cvv",
    "cvc",
    "cardexpir",
    "uniquekey",
)
# The password-reset code is logged on purpose by the DEBUG-only development notifier.
_SENSITIVE_EXACT = {"pan", "pin", "card", "expiry", "exp_date", "sign"}

_TEXT_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (
        re.compile(
            r"(?i)\b([a-z_-]*(?:password|secret|token|signature|api_?key)[a-z_-]*)"
            r"(\"?\s*[:=]\s*\"?)([^\s\"',;&}]+)"
        ),
        r"\1\2" + REDACTED,
    ),
)
_CARD_RE = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")


def is_sensitive_key(key: Any) -> bool:
    name = str(key).lower().replace("-", "").replace("_", "")
    return str(key).lower() in _SENSITIVE_EXACT or any(part in name for part in _SENSITIVE_PARTS)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return f"[CARD ****{digits[-4:]}]"
    return match.group(0)


def redact_text(text: str) -> str:
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return _CARD_RE.sub(_mask_card, text)


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of `value` with sensitive keys' values and secret-looking text masked."""
    if depth > 6:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if is_sensitive_key(k) else redact(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set):
        return [redact(v, depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactingFilter(logging.Filter):
    """Masks secrets in the message and the extras; adds the request id when in a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        for key, value in list(record.__dict__.items()):
            if key in _RESERVED or key.startswith("_"):
                continue
            record.__dict__[key] = REDACTED if is_sensitive_key(key) else redact(value)
        if "request_id" not in record.__dict__:
            request_id = _request_id()
            if request_id != "-":
                record.request_id = request_id
        return True


def _request_id() -> str:
    from slippers.http import current_request_id

    return current_request_id()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_json_logging(level: str) -> None:
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter):
            # Set up by gunicorn.conf.py's logconfig_dict: make sure it redacts too.
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
            root.setLevel(level.upper())
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
