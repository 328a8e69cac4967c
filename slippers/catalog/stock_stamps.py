"""Live stock in cached catalog bodies, without dropping the whole cache on every order.

A cached list or detail holds a stamp per slipper it shows (`catalog:stock:<id>`); a hit is
good only while those stamps are unchanged. A committed stock move renews the stamps of its
slippers (orders/stock.py calls `stock_changed`), so only bodies showing one of them are
rebuilt. A slipper selling out or coming back also changes which slippers the `in_stock`
lists hold and their totals: those lists (and their counts) are keyed by one more token,
`catalog:in-stock-version`, which such a move replaces. Lists without the filter keep
their entries: their membership and totals do not depend on stock.

Every stock move also renews one more stamp, the stock epoch. A body is built from the
database before its stamps are read; when the epoch read before the build differs from
the one read with the stamps, a move may have landed in between, and the body's stock is
read again before it is stored beside those stamps (`LiveStock.refresh`).
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_caching.backends import SimpleCache

from slippers.catalog.cache_health import VERSION_TIMEOUT_SEC, current_tokens, outage
from slippers.extensions import cache

IN_STOCK_VERSION_KEY = "catalog:in-stock-version"
EPOCH_KEY = "catalog:stock-epoch"
log = logging.getLogger("slippers.catalog.cache")


@dataclass(frozen=True)
class LiveStock:
    """How a cached body shows live stock: the slipper dicts in it, and a function that
    re-reads their stock fields from the database into them."""

    items: Callable[[Any], list[dict]]
    refresh: Callable[[list[dict]], None]


def stock_changed(slipper_ids: Iterable[int], sold_out_or_back: bool) -> None:
    """Call after committing stock moves: renews the slippers' stamps, and the `in_stock`
    lists' token when one of them sold out or came back."""
    stamps = {_stamp_key(i): uuid.uuid4().hex for i in set(slipper_ids)}
    if stamps:
        stamps[EPOCH_KEY] = uuid.uuid4().hex
    if not stamps and not sold_out_or_back:
        return
    state = outage()
    if state.is_down():  # cannot renew them: the version bump, when back, clears everything
        state.bump_pending = True
        log.error("cache unavailable; catalog version bump deferred")
        return
    try:
        if stamps:
            _stamp_store().set_many(stamps, timeout=VERSION_TIMEOUT_SEC)
        if sold_out_or_back:
            cache.set(IN_STOCK_VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TIMEOUT_SEC)
    except Exception:
        state.trip()
        state.bump_pending = True
        log.error("cache unavailable; catalog version bump deferred", exc_info=True)


def in_stock_version() -> str | None:
    """The `in_stock` lists' token (created on first use); raises if the cache fails."""
    return current_tokens(cache, (IN_STOCK_VERSION_KEY,))[0]


def stock_epoch() -> str | None:
    """Read before building a body that shows stock (created on first use)."""
    return current_tokens(_stamp_store(), (EPOCH_KEY,))[0]


@dataclass(frozen=True)
class Stamps:
    keys: tuple[str, ...]
    values: tuple[str, ...]
    epoch: str | None


def read_stamps(slipper_ids: list[int]) -> Stamps | None:
    """The current stamp of each slipper (a missing one is created) and the stock epoch,
    or None if they cannot be trusted."""
    keys = tuple(_stamp_key(i) for i in slipper_ids)
    values = current_tokens(_stamp_store(), (*keys, EPOCH_KEY))
    if any(value is None for value in values):  # evicted at once: do not trust a None
        return None
    return Stamps(keys, tuple(values[:-1]), values[-1])


def stamps_current(keys: tuple[str, ...], stamps: tuple[str, ...]) -> bool:
    return not keys or tuple(_stamp_store().get_many(*keys)) == stamps


def _stamp_key(slipper_id: int) -> str:
    return f"catalog:stock:{slipper_id}"


class _LocalStamps:
    """Stamps of an in-process cache, kept beside it: in the SimpleCache itself thousands of
    stamps would count against its 500-entry threshold and push the bodies out. Losing
    them all (past MAX_ITEMS) is safe: a missing stamp only makes the next read rebuild."""

    MAX_ITEMS = 200_000

    def __init__(self) -> None:
        self._stamps: dict[str, str] = {}
        self._lock = threading.Lock()

    def get_many(self, *keys: str) -> list[str | None]:
        return [self._stamps.get(key) for key in keys]

    def add(self, key: str, value: str, timeout: int | None = None) -> None:
        with self._lock:
            self._make_room(1)
            self._stamps.setdefault(key, value)

    def set_many(self, mapping: Mapping[str, str], timeout: int | None = None) -> None:
        with self._lock:
            self._make_room(len(mapping))
            self._stamps.update(mapping)

    def _make_room(self, count: int) -> None:
        if len(self._stamps) + count > self.MAX_ITEMS:
            self._stamps.clear()


_local_stamps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _stamp_store():
    """Where this app's stock stamps live: the shared cache (Redis), or beside an
    in-process cache."""
    backend = cache.cache
    if not isinstance(backend, SimpleCache):
        return cache
    store = _local_stamps.get(backend)
    if store is None:
        store = _local_stamps[backend] = _LocalStamps()
    return store
