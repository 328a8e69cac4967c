"""Password policy and hashing (werkzeug's salted scrypt by default)."""

from __future__ import annotations

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 8
MAX_LENGTH = 128

# The most common passwords of public breach lists (8+ characters, lower-cased).
COMMON_PASSWORDS = frozenset(
    [
        "password",
        "password1",
        "password12",
        "password123",
        "password1234",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "12345678",
        "123456789",
        "1234567890",
        "0987654321",
        "87654321",
        "11111111",
        "00000000",
        "88888888",
        "12341234",
        "qwertyui",
        "qwerty123",
        "qwertyuiop",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "1qaz2wsx",
        "zaq12wsx",
        "qazwsxedc",
        "asdfghjk",
        "asdfasdf",
        "iloveyou",
        "iloveyou1",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "welcome1",
        "welcome123",
        "superman",
        "batman123",
        "trustno1",
        "abc12345",
        "abcd1234",
        "letmein1",
        "letmein123",
        "changeme",
        "changeme123",
        "admin123",
        "administrator",
        "monkey123",
        "dragon123",
        "starwars",
        "whatever",
        "computer",
        "internet",
        "michael1",
        "jennifer",
        "shadow12",
        "master12",
        "jordan23",
        "freedom1",
        "1234qwer",
        "qwer1234",
        "q1w2e3r4",
        "secret123",
        "mustang1",
        "access14",
        "charlie1",
        "football1",
        "passpass",
        "testtest",
        "test1234",
        "slippers",
        "slippers1",
        "slippers123",
        "tashkent",
        "uzbekistan",
    ]
)


def password_problem(password: str) -> str | None:
    """Why a password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"Password must be at most {MAX_LENGTH} characters"
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 3:
        return "Password is too common; choose another"
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists: a missing hash checks a dummy one."""
    candidate = password_hash or _dummy_hash()
    ok = check_password_hash(candidate, password)
    return ok and password_hash is not None


def _dummy_hash() -> str:
    cached = current_app.extensions.get("dummy_password_hash")
    if cached is None:
        cached = hash_password("dummy-password-for-timing")
        current_app.extensions["dummy_password_hash"] = cached
    return cached
