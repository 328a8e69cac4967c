"""Versioned cache namespace for everything the catalog shows.

Every cached catalog response is stored under a key that includes the current catalog
version. A write that changes what the catalog shows calls `invalidate_catalog()`, which
replaces the version token: every worker's next read misses and rebuilds. With Redis the
token is shared by all workers and hosts; the in-process cache is per process.
"""

from __future__ import annotations

import logging
import uuid

from slippers.extensions import cache

VERSION_KEY = "catalog:version"
log = logging.getLogger("slippers.catalog.cache")


def catalog_version() -> str | None:
    """The current token (created on first use), or None when the cache is unreachable."""
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=0)
            version = cache.get(VERSION_KEY)
        return version
    except Exception:
        log.warning("cache unavailable; serving uncached", exc_info=True)
        return None


def invalidate_catalog() -> None:
    """Call after committing any change the catalog shows (price, stock, names, images)."""
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=0)
    except Exception:
        log.error("cache unavailable; catalog version not bumped", exc_info=True)
