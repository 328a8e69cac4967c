"""Case-insensitive substring search that treats the user's text literally."""

from __future__ import annotations

from sqlalchemy import func


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_ci(column, text: str):
    """`column` contains `text`, ignoring case; % and _ in the text are not wildcards."""
    pattern = f"%{escape_like(text.lower())}%"
    return func.lower(column).like(pattern, escape="\\")
