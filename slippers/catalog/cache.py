"""Versioned cache namespace for everything the catalog shows.

Every cached catalog response is stored under a key that includes the current catalog
version. A write that changes what the catalog shows calls `invalidate_catalog()`, which
replaces the version token: every worker's next read misses and rebuilds. With Redis the
token is shared by all workers and hosts; the in-process cache is per process.

Cached values are finished JSON bodies plus their ETag: a hit reads the cache twice
(version, body) and touches neither the database nor a serializer. Stock is the one thing
that changes without a version bump: orders move it several times a second, so bodies that
show it carry per-slipper stamps instead (stock_stamps.py), checked with one more read.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, current_app, g, request

from slippers.catalog.cache_health import VERSION_TIMEOUT_SEC, guarded, outage
from slippers.catalog.stock_stamps import (
    LiveStock,
    in_stock_version,
    read_stamps,
    stamps_current,
    stock_epoch,
)
from slippers.extensions import cache

VERSION_KEY = "catalog:version"
log = logging.getLogger("slippers.catalog.cache")


def catalog_version() -> str | None:
    """The current token (created on first use), or None when the cache is unreachable."""
    state = outage()
    if state.is_down():
        return None
    try:
        if state.bump_pending:
            cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TIMEOUT_SEC)
            state.bump_pending = False
        # get/add rather than current_tokens' get_many: the hot path's one read stays a GET
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TIMEOUT_SEC)
            version = cache.get(VERSION_KEY)
        return version
    except Exception:
        state.trip()
        log.warning("cache unavailable; serving uncached", exc_info=True)
        return None


def invalidate_catalog() -> None:
    """Call after committing any change the catalog shows (price, stock, names, images)."""
    state = outage()
    state.bump_pending = True
    if state.is_down():
        log.error("cache unavailable; catalog version bump deferred")
        return
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TIMEOUT_SEC)
        state.bump_pending = False
    except Exception:
        state.trip()
        log.error("cache unavailable; catalog version bump deferred", exc_info=True)


def _namespace(by_stock_filter: bool) -> str | None:
    """The catalog version, plus the `in_stock` lists' token for entries whose content
    depends on which slippers are in stock; None when the cache cannot be used."""
    version = catalog_version()
    if version and by_stock_filter:
        token = guarded(in_stock_version)
        return f"{version}.{token}" if token else None
    return version


def _entry_key(name: str, args: Mapping[str, Any]) -> str | None:
    version = _namespace(args.get("in_stock") is not None)
    return cache_key(version, name, args) if version else None


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
    works the same way one level down: the stock epoch is read before `build()`, and when a
    stock move renewed it meanwhile, the body's stock is read again (`live_stock.refresh`)
    after its stamps, so a body is never stored beside stamps newer than its stock.
    """
    key = _entry_key(name, args)
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
    epoch = guarded(stock_epoch) if live_stock is not None and cacheable else None
    data = build()
    stamped: tuple | None = ()
    if live_stock is not None:
        items = live_stock.items(data)
        ids = [item["id"] for item in items]
        stamps = guarded(lambda: read_stamps(ids)) if epoch is not None else None
        stamped = (stamps.keys, stamps.values) if stamps is not None else None
        if stamps is not None and stamps.epoch != epoch:  # stock moved during the build
            live_stock.refresh(items)
    body = current_app.json.dumps(data).encode()
    etag = hashlib.blake2b(body, digest_size=12).hexdigest()
    return (body, etag, *(stamped or ())), stamped is not None


def cached_value(name: str, args: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
    """A small value (e.g. a count) under the same versioned keys as the response bodies."""
    key = _entry_key(name, args)
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
            # A query string naming in_stock may filter by it: keyed by the token too.
            version = _namespace(b"in_stock" in request.query_string)
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
    entry = guarded(lambda: cache.get(key))
    stamped = isinstance(entry, tuple) and len(entry) == 4  # (body, etag, stamp keys, stamps)
    if stamped and not guarded(lambda: stamps_current(entry[2], entry[3])):
        return None
    return entry


def _cache_set(key: str, entry: Any) -> None:
    try:
        cache.set(key, entry)
    except Exception:
        outage().trip()
        log.warning("cache write failed", exc_info=True)
