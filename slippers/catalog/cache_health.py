"""What the catalog cache knows about its backend being down, shared by cache.py and
stock_stamps.py. A cache that fails is skipped for a while and the catalog is served
uncached; a bump that could not be written is made once the cache answers again."""

from __future__ import annotations

import logging
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from slippers.extensions import cache

# Finite and far longer than any entry: an in-process SimpleCache evicts the soonest-expiring
# keys first when full (and "never expires" sorts as soonest), and losing a version key
# would orphan every entry at once. If one does expire, a new token simply starts afresh.
VERSION_TIMEOUT_SEC = 30 * 24 * 3600
OUTAGE_BACKOFF_SEC = 5.0
log = logging.getLogger("slippers.catalog.cache")


class Outage:
    """What one cache backend (one app's Redis client) is known to be going through.

    A Redis that is down can take seconds per command to fail (connect retries with
    backoff), so after a failure the catalog skips that cache for OUTAGE_BACKOFF_SEC
    instead of paying for it on every request. A version bump that could not be written
    is retried first thing once the cache answers again.
    """

    __slots__ = ("bump_pending", "down_until")

    def __init__(self) -> None:
        self.down_until = 0.0
        self.bump_pending = False

    def is_down(self) -> bool:
        return time.monotonic() < self.down_until

    def trip(self) -> None:
        self.down_until = time.monotonic() + OUTAGE_BACKOFF_SEC


outages: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def outage() -> Outage:
    """The state of this app's cache backend (other apps in the process have their own)."""
    backend = cache.cache
    state = outages.get(backend)
    if state is None:
        state = outages[backend] = Outage()
    return state


def forget_outages() -> None:
    """Treat every cache as healthy again (tests that simulate outages call this)."""
    outages.clear()


def guarded(read: Callable[[], Any]) -> Any:
    """`read()` from the cache, or None (and the backend marked down) when it fails."""
    try:
        return read()
    except Exception:
        outage().trip()
        log.warning("cache read failed; serving uncached", exc_info=True)
        return None


def current_tokens(store, keys: tuple[str, ...]) -> list[str | None]:
    """The tokens under `keys` in `store` (a cache or the local stamp store), creating the
    missing ones; a None left means one was evicted at once. Raises if the cache fails."""
    values = store.get_many(*keys)
    missing = [key for key, value in zip(keys, values, strict=True) if value is None]
    if missing:
        for key in missing:
            store.add(key, uuid.uuid4().hex, timeout=VERSION_TIMEOUT_SEC)
        values = store.get_many(*keys)
    return list(values)
