"""Failed-login throttling per client IP and per account, shared through Redis when set."""

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


class LoginThrottle:
    def __init__(self, storage_uri: str, attempts: int, window_sec: int, key_prefix: str):
        self.limit = RateLimitItemPerSecond(attempts, window_sec)
        self.storage = storage_from_string(storage_uri, key_prefix=key_prefix)
        self.strategy = FixedWindowRateLimiter(self.storage)

    def reset(self) -> None:
        """Forget every counted failure (tests and operators)."""
        self.storage.reset()

    def _keys(self, ip: str, account: str) -> list[str]:
        return [f"login-fail:ip:{ip}", f"login-fail:account:{account}"]

    def check(self, ip: str, account: str) -> None:
        """Raise 429 with Retry-After when either key has used up its failures."""
        waits = []
        try:
            for key in self._keys(ip, account):
                if not self.strategy.test(self.limit, key):
                    reset_at = self.strategy.get_window_stats(self.limit, key).reset_time
                    waits.append(max(1, math.ceil(reset_at - time.time())))
        except Exception:
            log.warning("login throttle storage unavailable; not throttling", exc_info=True)
            return
        if waits:
            retry = max(waits)
            raise TooManyRequests(
                "Too many failed login attempts; try again later",
                headers={"Retry-After": str(retry)},
            )

    def record_failure(self, ip: str, account: str) -> None:
        try:
            for key in self._keys(ip, account):
                self.strategy.hit(self.limit, key)
        except Exception:
            log.warning("login throttle storage unavailable; failure not counted", exc_info=True)

    def clear_account(self, account: str) -> None:
        try:
            self.strategy.clear(self.limit, f"login-fail:account:{account}")
        except Exception:
            log.warning("login throttle storage unavailable; not cleared", exc_info=True)


def init_login_throttle(app: Flask) -> None:
    app.extensions["login_throttle"] = LoginThrottle(
        app.config["RATELIMIT_STORAGE_URI"],
        app.config["LOGIN_RATE_LIMIT"],
        app.config["LOGIN_RATE_WINDOW_SEC"],
        app.config["CACHE_KEY_PREFIX"] + "login",
    )


def login_throttle() -> LoginThrottle:
    return current_app.extensions["login_throttle"]
