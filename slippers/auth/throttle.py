"""Failed-login throttling per client IP and per account, shared through Redis when set.

A Redis outage never fails a login: the throttle logs it, stops throttling, and leaves Redis
alone for OUTAGE_BACKOFF_SEC so each login does not wait for a timeout again.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from slippers.errors import TooManyRequests

log = logging.getLogger("slippers.auth.throttle")
OUTAGE_BACKOFF_SEC = 30.0


class LoginThrottle:
    def __init__(
        self,
        storage_uri: str,
        attempts: int,
        window_sec: int,
        key_prefix: str,
        timeout_sec: float = 0.5,
    ):
        self.limit = RateLimitItemPerSecond(attempts, window_sec)
        options = {}
        if storage_uri.startswith(("redis", "rediss", "valkey")):
            options = {"socket_connect_timeout": timeout_sec, "socket_timeout": timeout_sec}
        self.storage = storage_from_string(storage_uri, key_prefix=key_prefix, **options)
        self.strategy = FixedWindowRateLimiter(self.storage)
        self._skip_until = 0.0

    def reset(self) -> None:
        """Forget every counted failure (tests and operators)."""
        self._skip_until = 0.0
        self.storage.reset()

    def _storage_usable(self) -> bool:
        return time.monotonic() >= self._skip_until

    def _storage_failed(self, what: str) -> None:
        self._skip_until = time.monotonic() + OUTAGE_BACKOFF_SEC
        log.warning("login throttle storage unavailable; %s", what, exc_info=True)

    def _keys(self, ip: str, account: str) -> list[str]:
        return [f"login-fail:ip:{ip}", f"login-fail:account:{account}"]

    def check(self, ip: str, account: str) -> None:
        """Raise 429 with Retry-After when either key has used up its failures."""
        if not self._storage_usable():
            return
        waits = []
        try:
            for key in self._keys(ip, account):
                if not self.strategy.test(self.limit, key):
                    reset_at = self.strategy.get_window_stats(self.limit, key).reset_time
                    waits.append(max(1, math.ceil(reset_at - time.time())))
        except Exception:  # noqa: BLE001 - any storage failure: fail open
            self._storage_failed("not throttling")
            return
        if waits:
            retry = max(waits)
            raise TooManyRequests(
                "Too many failed login attempts; try again later",
                headers={"Retry-After": str(retry)},
            )

    def record_failure(self, ip: str, account: str) -> None:
        if not self._storage_usable():
            return
        try:
            for key in self._keys(ip, account):
                self.strategy.hit(self.limit, key)
        except Exception:  # noqa: BLE001
            self._storage_failed("failure not counted")

    def clear_account(self, account: str) -> None:
        if not self._storage_usable():
            return
        try:
            self.strategy.clear(self.limit, f"login-fail:account:{account}")
        except Exception:  # noqa: BLE001
            self._storage_failed("not cleared")


def init_login_throttle(app: Flask) -> None:
    app.extensions["login_throttle"] = LoginThrottle(
        app.config["RATELIMIT_STORAGE_URI"],
        app.config["LOGIN_RATE_LIMIT"],
        app.config["LOGIN_RATE_WINDOW_SEC"],
        app.config["CACHE_KEY_PREFIX"] + "login",
        app.config["REDIS_TIMEOUT_SEC"],
    )


def login_throttle() -> LoginThrottle:
    return current_app.extensions["login_throttle"]
