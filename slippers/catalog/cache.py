"""Versioned cache namespace for everything the catalog shows.

Every cached catalog response is stored under a key that includes the current catalog
version. A write that changes what the catalog shows calls `invalidate_catalog()`, which
replaces the version token: every worker's next read misses and rebuilds. With Redis the
token is shared by all workers and hosts; the in-process cache is per process.

Cached values are finished JSON bodies plus their ETag: a hit reads the cache twice
(version, body) and touches neither the database nor a serializer.

Live stock is the exception to "any change bumps the version": orders change it several
times a second, and dropping every cached page for each would leave the cache empty under
load. So a body that shows stock also holds a stamp per slipper it shows
(`catalog:stock:<id>`), and a hit is good only while those stamps are unchanged (one more
read of the cache). An order commits, then `stock_changed()` renews the stamps of its
slippers; only a slipper selling out or coming back (which moves it in or out of
`in_stock` lists and their totals) bumps the whole version.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, g, request
from flask_caching.backends import SimpleCache

from slippers.extensions import cache

VERSION_KEY = "catalog:version"
# Finite and far longer than any entry: an in-process SimpleCache evicts the soonest-expiring
# keys first when full (and "never expires" sorts as soonest), and losing the version key
# would orphan every entry at once. If it does expire, a new token simply starts afresh.
VERSION_TIMEOUT_SEC = 30 * 24 * 3600
OUTAGE_BACKOFF_SEC = 5.0
log = logging.getLogger("slippers.catalog.cache")


class _Outage:
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


_outages: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _outage() -> _Outage:
    """The state of this app's cache backend (other apps in the process have their own)."""
    backend = cache.cache
    state = _outages.get(backend)
    if state is None:
        state = _outages[backend] = _Outage()
    return state


def forget_outages() -> None:
    """Treat every cache as healthy again (tests that simulate outages call this)."""
    _outages.clear()


def catalog_version() -> str | None:
    """The current token (created on first use), or None when the cache is unreachable."""
    outage = _outage()
    if outage.is_down():
        return None
    try:
        if outage.bump_pending:
            cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TIMEOUT_SEC)
            outage.bump_pending = False
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TIMEOUT_SEC)
            version = cache.get(VERSION_KEY)
        return version
    except Exception:
        outage.trip()
        log.warning("cache unavailable; serving uncached", exc_info=True)
        return None


def invalidate_catalog() -> None:
    """Call after committing any change the catalog shows (price, stock, names, images)."""
    outage = _outage()
    outage.bump_pending = True
    if outage.is_down():
        log.error("cache unavailable; catalog version bump deferred")
        return
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TIMEOUT_SEC)
        outage.bump_pending = False
    except Exception:
        outage.trip()
        log.error("cache unavailable; catalog version bump deferred", exc_info=True)


def stock_changed(slipper_ids: Iterable[int], sold_out_or_back: bool) -> None:
    """Call after committing stock moves: renews the slippers' stamps, so every cached body
    that shows one of them is rebuilt; a slipper crossing zero needs a whole new version."""
    ids = sorted(set(slipper_ids))
    if sold_out_or_back:
        invalidate_catalog()
        return
    if not ids:
        return
    outage = _outage()
    if outage.is_down():  # stamps cannot be renewed: the version bump clears everything
        outage.bump_pending = True
        log.error("cache unavailable; catalog version bump deferred")
        return
    try:
        _stamp_store().set_many(
            {_stamp_key(i): uuid.uuid4().hex for i in ids}, timeout=VERSION_TIMEOUT_SEC
        )
    except Exception:
        outage.trip()
        outage.bump_pending = True
        log.error("cache unavailable; catalog version bump deferred", exc_info=True)


@dataclass(frozen=True)
class LiveStock:
    """How a cached body shows live stock: the slipper dicts in it, and a function that
    re-reads their stock fields from the database into them."""

    items: Callable[[Any], list[dict]]
    refresh: Callable[[list[dict]], None]


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


def _stamps(slipper_ids: list[int]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The current stamp of each slipper (a missing one is created), or None if unknown."""
    keys = tuple(_stamp_key(i) for i in slipper_ids)
    if not keys:
        return (), ()
    store = _stamp_store()
    values = store.get_many(*keys)
    missing = [key for key, value in zip(keys, values, strict=True) if value is None]
    if missing:
        for key in missing:
            store.add(key, uuid.uuid4().hex, timeout=VERSION_TIMEOUT_SEC)
        values = store.get_many(*keys)
    if any(value is None for value in values):  # evicted at once: do not trust a None
        return None
    return keys, tuple(values)


def _is_current(entry: tuple) -> bool:
    """A cached (body, etag[, stamp keys, stamps]) entry still shows today's stock."""
    if len(entry) == 2:
        return True
    keys, stamps = entry[2], entry[3]
    return not keys or tuple(_stamp_store().get_many(*keys)) == stamps


def cache_key(version: str, name: str, args: Mapping[str, Any]) -> str:
    """`name` plus the parsed (normalised) arguments; absent and default look the same."""
    canonical = "&".join(f"{k}={_canonical(v)}" for k, v in sorted(args.items()) if v is not None)
    digest = hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
    return f"catalog:{version}:{name}:{digest}"


def _canonical(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cached_json(
    name: str,
    args: Mapping[str, Any],
    build: Callable[[], Any],
    live_stock: LiveStock | None = None,
) -> Response:
    """Answer from the cache, else `build()` the data, store its JSON body and answer it.

    The caller must put into `args` everything the output depends on. Reading the version
    before `build()` matters: a write commits, then bumps, so a body built from older data
    can only ever be stored under an older version, which nobody reads any more. Stock
    works the same way one level down: the stamps are read before the stock is re-read
    (`live_stock.refresh`), so a body can only be stored beside stamps at least as old as
    its stock.
    """
    version = catalog_version()
    key = cache_key(version, name, args) if version else None
    entry = _cache_get(key) if key else None
    raw_key = g.pop("catalog_raw_key", None)
    if entry is None:
        entry, storable = _build_entry(build, live_stock, cacheable=key is not None)
        if key and storable:
            _cache_set(key, entry)
        else:
            raw_key = None
    if raw_key:
        _cache_set(raw_key, entry)
    return json_response(entry[0], entry[1])


def _build_entry(
    build: Callable[[], Any], live_stock: LiveStock | None, cacheable: bool
) -> tuple[tuple, bool]:
    """(body, etag) or, with live stock, (body, etag, stamp keys, stamps); and whether it
    may be stored (not when the stamps could not be read)."""
    data = build()
    stamped: tuple | None = ()
    if live_stock is not None:
        items = live_stock.items(data)
        stamped = _guarded(lambda: _stamps([item["id"] for item in items])) if cacheable else None
        live_stock.refresh(items)
    body = current_app.json.dumps(data).encode()
    etag = hashlib.blake2b(body, digest_size=12).hexdigest()
    return (body, etag, *(stamped or ())), stamped is not None


def _guarded(read: Callable[[], Any]) -> Any:
    """`read()` from the cache, or None (and the backend marked down) when it fails."""
    try:
        return read()
    except Exception:
        _outage().trip()
        log.warning("cache read failed; serving uncached", exc_info=True)
        return None


def cached_value(name: str, args: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
    """A small value (e.g. a count) under the same versioned keys as the response bodies."""
    version = catalog_version()
    key = cache_key(version, name, args) if version else None
    value = _cache_get(key) if key else None
    if value is None:
        value = compute()
        if key:
            _cache_set(key, value)
    return value


def answer_from_raw_query(name: str):
    """Decorate a cached list view (above its argument parsing) to skip parsing on a hit.

    The exact query string is looked up first. Only query strings that once parsed and
    were answered (by `cached_json` under the same `name`) are stored in raw form, so a hit
    needs no validation; any other request goes on to the parser and the view.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            version = catalog_version()
            if version:
                digest = hashlib.blake2b(request.query_string, digest_size=16).hexdigest()
                raw_key = f"catalog:{version}:{name}:raw:{digest}"
                entry = _cache_get(raw_key)
                if entry is not None:
                    return json_response(entry[0], entry[1])
                g.catalog_raw_key = raw_key
            return view(*args, **kwargs)

        return wrapper

    return decorator


def json_response(body: bytes, etag: str) -> Response:
    """200 with the body, or 304 when the client already holds this ETag."""
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(body, status=200, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _cache_get(key: str):
    """The entry under `key`, or None when absent, unreadable or showing stale stock."""
    entry = _guarded(lambda: cache.get(key))
    if isinstance(entry, tuple) and not _guarded(lambda: _is_current(entry)):
        return None
    return entry


def _cache_set(key: str, entry: Any) -> None:
    try:
        cache.set(key, entry)
    except Exception:
        _outage().trip()
        log.warning("cache write failed", exc_info=True)
