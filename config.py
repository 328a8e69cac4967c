"""Every setting, read from the environment (and `.env`) in one place."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET_KEY = "change-me"  # refused outside DEBUG

load_dotenv(BASE_DIR / ".env", override=False)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in env_str(name, default).split(",") if part.strip()]


def normalize_database_url(url: str) -> str:
    """Map URLs written for the old async stack onto their sync drivers."""
    replacements = {
        "postgresql+asyncpg://": "postgresql+psycopg2://",
        "postgres://": "postgresql+psycopg2://",
        "sqlite+aiosqlite://": "sqlite://",
    }
    for old, new in replacements.items():
        if url.startswith(old):
            return new + url[len(old) :]
    return url


def _default_database_url() -> str:
    return f"sqlite:///{BASE_DIR / 'instance' / 'slippers.db'}"


class Config:
    """Settings for a running app; `create_app(overrides)` can replace any of them."""

    def __init__(self) -> None:
        self.DEBUG = env_bool("DEBUG", False)
        self.TESTING = False
        self.SECRET_KEY = env_str("SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(
            env_str("DATABASE_URL") or _default_database_url()
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.JSON_SORT_KEYS = False

        # Tokens and cookies
        self.ACCESS_TOKEN_EXPIRE_MINUTES = env_int("ACCESS_TOKEN_EXPIRE_MINUTES", 15)
        self.REFRESH_TOKEN_EXPIRE_DAYS = env_int("REFRESH_TOKEN_EXPIRE_DAYS", 7)
        self.COOKIE_SECURE = env_bool("COOKIE_SECURE", not self.DEBUG)
        self.PASSWORD_RESET_CODE_TTL_MINUTES = env_int("PASSWORD_RESET_CODE_TTL_MINUTES", 30)
        self.PASSWORD_HASH_METHOD = env_str("PASSWORD_HASH_METHOD", "scrypt")

        # HTTP
        self.ALLOWED_ORIGINS = env_list("ALLOWED_ORIGINS")
        self.MAX_JSON_KB = env_int("MAX_JSON_KB", 1024)
        self.MAX_IMAGE_MB = env_int("MAX_IMAGE_MB", 5)
        self.MAX_IMAGES_PER_REQUEST = 10
        self.MAX_IMAGES_PER_SLIPPER = 10
        self.UPLOAD_FOLDER = env_str("UPLOAD_FOLDER") or str(BASE_DIR / "instance" / "uploads")
        self.TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
        self.LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
        self.METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
        self.METRICS_TOKEN = env_str("METRICS_TOKEN")
        self.PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
        self.MAX_QUERY_STRING_BYTES = env_int("MAX_QUERY_STRING_BYTES", 4096)
        self.COMPRESS_MIN_BYTES = env_int("COMPRESS_MIN_BYTES", 1024)

        # Redis, rate limits, cache
        self.REDIS_URL = env_str("REDIS_URL")
        self.RATE_LIMIT_ENABLED = env_bool("RATE_LIMIT_ENABLED", True)
        self.RATE_LIMIT_REQUESTS = env_int("RATE_LIMIT_REQUESTS", 100)
        self.RATE_LIMIT_WINDOW_SEC = env_int("RATE_LIMIT_WINDOW_SEC", 60)
        self.RATE_LIMIT_EXCLUDE_PATHS = env_list(
            "RATE_LIMIT_EXCLUDE_PATHS", "/docs,/redoc,/openapi.json,/favicon.ico,/static"
        )
        self.LOGIN_RATE_LIMIT = env_int("LOGIN_RATE_LIMIT", 5)
        self.LOGIN_RATE_WINDOW_SEC = env_int("LOGIN_RATE_WINDOW_SEC", 300)
        self.RATE_LIMIT_AUTH = env_str("RATE_LIMIT_AUTH", "10 per minute")
        self.RATE_LIMIT_REFUND = env_str("RATE_LIMIT_REFUND", "20 per minute")
        self.RATE_LIMIT_KEY_PREFIX = env_str("RATE_LIMIT_KEY_PREFIX", "slippers-rl")
        self.RATE_LIMIT_HEADERS_ALWAYS = env_bool("RATE_LIMIT_HEADERS_ALWAYS", False)
        self.REDIS_TIMEOUT_SEC = env_float("REDIS_TIMEOUT_SEC", 0.5)
        self.CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "slippers:")
        self.CACHE_DEFAULT_TIMEOUT = env_int("CACHE_DEFAULT_TIMEOUT", 300)

        # Orders
        self.ORDER_MAX_QTY_PER_ITEM = env_int("ORDER_MAX_QTY_PER_ITEM", 50)
        self.ORDER_MAX_LINES = env_int("ORDER_MAX_LINES", 50)
        self.ORDER_PENDING_TTL_MINUTES = env_int("ORDER_PENDING_TTL_MINUTES", 30)
        self.IDEMPOTENCY_TTL_HOURS = env_int("IDEMPOTENCY_TTL_HOURS", 24)
        self.SHOP_CURRENCY = env_str("SHOP_CURRENCY", "UZS")

        # OCTO
        self.OCTO_API_BASE = env_str("OCTO_API_BASE", "https://secure.octo.uz").rstrip("/")
        self.OCTO_SHOP_ID = env_int("OCTO_SHOP_ID", 0)
        self.OCTO_SECRET = env_str("OCTO_SECRET")
        self.OCTO_UNIQUE_KEY = env_str("OCTO_UNIQUE_KEY")
        self.OCTO_ALLOW_UNSIGNED_CALLBACKS = env_bool("OCTO_ALLOW_UNSIGNED_CALLBACKS", False)
        self.OCTO_TIMEOUT_SEC = env_float("OCTO_TIMEOUT_SEC", 10.0)
        self.OCTO_CONNECT_TIMEOUT_SEC = env_float("OCTO_CONNECT_TIMEOUT_SEC", 3.0)
        self.OCTO_RETRIES = env_int("OCTO_RETRIES", 2)
        self.OCTO_TEST = env_bool("OCTO_TEST", True)
        self.OCTO_AUTO_CAPTURE = env_bool("OCTO_AUTO_CAPTURE", True)
        self.OCTO_LANGUAGE = env_str("OCTO_LANGUAGE", "uz")
        self.OCTO_TTL_MINUTES = env_int("OCTO_TTL_MINUTES", 15)
        self.OCTO_DESCRIPTION = env_str("OCTO_DESCRIPTION", "Slippers order #{order_id}")
        self.OCTO_RETURN_URL = env_str("OCTO_RETURN_URL", "http://127.0.0.1:8000/")
        self.OCTO_NOTIFY_URL = env_str(
            "OCTO_NOTIFY_URL", "http://127.0.0.1:8000/payments/octo/notify"
        )
        self.OCTO_EXTRA_PARAMS = json.loads(env_str("OCTO_EXTRA_PARAMS") or "{}")
        self.OCTO_USD_UZS_RATE = env_str("OCTO_USD_UZS_RATE")
        self.OCTO_MAX_REFUND_UZS = env_str("OCTO_MAX_REFUND_UZS", "10000000")
        self.OCTO_RECONCILE_AFTER_MINUTES = env_int("OCTO_RECONCILE_AFTER_MINUTES", 5)
        self.OCTO_SIM_HOST = env_str("OCTO_SIM_HOST", "127.0.0.1")
        self.OCTO_SIM_PORT = env_int("OCTO_SIM_PORT", 8001)

        # flask-jwt-extended, derived from the names above
        self.JWT_SECRET_KEY = self.SECRET_KEY
        self.JWT_TOKEN_LOCATION = ["headers", "cookies"]
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=self.ACCESS_TOKEN_EXPIRE_MINUTES)
        self.JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=self.REFRESH_TOKEN_EXPIRE_DAYS)
        self.JWT_COOKIE_SECURE = self.COOKIE_SECURE
        self.JWT_COOKIE_SAMESITE = "Lax"
        self.JWT_COOKIE_CSRF_PROTECT = True
        self.JWT_CSRF_CHECK_FORM = False
        self.JWT_REFRESH_COOKIE_PATH = "/"
        self.JWT_ACCESS_COOKIE_PATH = "/"

        # flask-smorest / OpenAPI
        self.API_TITLE = "Slippers API"
        self.API_VERSION = "1.0.0"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "/docs"
        self.OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui/"
        self.OPENAPI_REDOC_PATH = "/redoc"
        self.OPENAPI_REDOC_URL = "/static/vendor/redoc/redoc.standalone.js"

    @property
    def max_content_length(self) -> int:
        images = self.MAX_IMAGE_MB * 1024 * 1024 * self.MAX_IMAGES_PER_REQUEST
        return max(self.MAX_JSON_KB * 1024, images + 1024 * 1024)

    def as_dict(self) -> dict:
        values = {k: v for k, v in vars(self).items() if k.isupper()}
        values["MAX_CONTENT_LENGTH"] = self.max_content_length
        return values
