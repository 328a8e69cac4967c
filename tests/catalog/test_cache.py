"""Caching: fresh after every write, no SQL on a hit, ETags, constant SQL per page, no cache."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from cachelib import RedisCache
from redis.backoff import NoBackoff
from redis.retry import Retry

from slippers.catalog.cache import catalog_version, invalidate_catalog
from slippers.catalog.cache_health import outages
from slippers.catalog.models import Slipper, SlipperImage
from slippers.db_types import utcnow
from slippers.extensions import cache, db
from tests.catalog.conftest import count_statements, image_bytes, multipart


def _price(client, slipper_id):
    detail = client.get(f"/slippers/{slipper_id}").get_json()["price"]
    listed = [
        i["price"] for i in client.get("/slippers/").get_json()["items"] if i["id"] == slipper_id
    ]
    return detail, listed


def test_a_price_change_shows_on_the_very_next_read(client, admin_headers, slipper):
    assert _price(client, slipper.id) == ("189000.00", ["189000.00"])  # now cached
    client.patch(f"/slippers/{slipper.id}", json={"price": "175000"}, headers=admin_headers)
    assert _price(client, slipper.id) == ("175000.00", ["175000.00"])
    client.put(
        f"/slippers/{slipper.id}",
        json={
            "name": "Velvet",
            "size": "42",
            "price": 1,
            "quantity": 1,
            "category_id": slipper.category_id,
        },
        headers=admin_headers,
    )
    assert _price(client, slipper.id) == ("1.00", ["1.00"])


def test_every_catalog_write_refreshes_what_it_changes(
    client, admin_headers, category, slipper, upload_dir
):
    listed = lambda: client.get("/slippers/").get_json()["items"]  # noqa: E731
    categories = lambda: [c["name"] for c in client.get("/categories/").get_json()]  # noqa: E731
    assert listed()[0]["category_name"] == "House" and categories() == ["House"]
    client.patch(f"/categories/{category.id}", json={"name": "Home"}, headers=admin_headers)
    assert listed()[0]["category_name"] == "Home" and categories() == ["Home"]
    client.post("/categories/", json={"name": "Beach"}, headers=admin_headers)
    assert categories() == ["Beach", "Home"]
    uploaded = client.post(
        f"/slippers/{slipper.id}/upload-images",
        headers=admin_headers,
        **multipart((image_bytes(), "a.png")),
    ).get_json()
    assert listed()[0]["primary_image_url"] == uploaded[0]["url"]
    assert client.get(f"/slippers/{slipper.id}/images").get_json() == uploaded
    client.delete(f"/slippers/{slipper.id}/images/{uploaded[0]['id']}", headers=admin_headers)
    assert listed()[0]["primary_image_url"] is None
    assert client.get(f"/slippers/{slipper.id}/images").get_json() == []
    client.delete(f"/slippers/{slipper.id}", headers=admin_headers)
    assert listed() == []
    assert client.get(f"/slippers/{slipper.id}").status_code == 404
    client.delete(f"/categories/{category.id}", headers=admin_headers)
    assert categories() == ["Beach"]


def test_other_domains_refresh_with_invalidate_catalog(client, slipper):
    assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 5
    slipper.quantity = 4  # a write that bypasses the catalog services and their bumps
    db.session.commit()
    assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 5  # still cached
    invalidate_catalog()
    assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 4


@pytest.mark.parametrize(
    "path",
    ["/slippers/?q=velvet&sort=price", "/slippers/{id}", "/categories/", "/slippers/{id}/images"],
)
def test_a_cache_hit_sends_no_sql(client, slipper, path):
    path = path.format(id=slipper.id)
    first = client.get(path)
    with count_statements() as statements:
        second = client.get(path)
    assert statements == []
    assert second.status_code == 200
    assert second.get_data() == first.get_data()


def test_equivalent_queries_share_one_entry(client, slipper):
    client.get("/slippers/")
    with count_statements() as statements:
        response = client.get(
            "/slippers/?page=1&page_size=20&sort=-created_at&include_images=false"
        )
    assert statements == []
    assert response.get_json()["total"] == 1


def test_a_page_costs_the_same_statements_whatever_its_size(client, make_slipper, make_category):
    categories = [make_category(f"Category {n}") for n in range(5)]
    for n in range(60):
        made = make_slipper(f"Slipper {n}", category_id=categories[n % 5].id)
        for order_index in range(2):
            db.session.add(
                SlipperImage(
                    slipper_id=made.id,
                    filename=f"{n:030d}{order_index:02d}.png",
                    content_type="image/png",
                    width=1,
                    height=1,
                    size_bytes=1,
                    order_index=order_index,
                    is_primary=order_index == 0,
                    created_at=utcnow(),
                )
            )
    db.session.commit()
    counts = {}
    for include_images in ("false", "true"):
        for size in (5, 50):
            cache.clear()  # a cold cache each time: the count is computed too
            with count_statements() as statements:
                response = client.get(
                    f"/slippers/?page_size={size}&include_images={include_images}"
                )
            items = response.get_json()["items"]
            assert len(items) == size
            assert all(item["category_name"].startswith("Category") for item in items)
            assert all(item["primary_image_url"].endswith("00.png") for item in items)
            counts[(include_images, size)] = [s for s in statements if s.startswith("SELECT")]
    # a count and the page (category names and primary images included), + one for images
    assert len(counts[("false", 5)]) == len(counts[("false", 50)]) == 2
    assert len(counts[("true", 5)]) == len(counts[("true", 50)]) == 3


def test_pages_of_one_search_share_a_count(client, make_slipper):
    for n in range(7):
        make_slipper(f"Velvet {n}")
    client.get("/slippers/?q=velvet&page_size=3")
    with count_statements() as statements:
        second = client.get("/slippers/?q=velvet&page_size=3&page=2").get_json()
    selects = [s for s in statements if s.startswith("SELECT")]
    assert len(selects) == 1 and "count(" not in selects[0]
    assert second["total"] == 7 and len(second["items"]) == 3


def test_detail_etag_and_304(client, admin_headers, slipper):
    first = client.get(f"/slippers/{slipper.id}")
    etag = first.headers["ETag"]
    assert etag
    again = client.get(f"/slippers/{slipper.id}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    other = client.get(f"/slippers/{slipper.id}", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    client.patch(f"/slippers/{slipper.id}", json={"quantity": 9}, headers=admin_headers)
    changed = client.get(f"/slippers/{slipper.id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["quantity"] == 9
    assert changed.headers["ETag"] != etag


@pytest.mark.parametrize("path", ["/slippers/?sort=name", "/categories/"])
def test_list_etag_and_304(client, slipper, path):
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(path, headers={"If-None-Match": f'"x", {etag}'}).status_code == 304


class CountingDeadRedis(RedisCache):
    """A Redis backend nobody listens to, failing fast, that counts the calls it gets."""

    def __init__(self):
        super().__init__(host="127.0.0.1", port=1, key_prefix="dead:", retry=Retry(NoBackoff(), 0))
        self.calls = 0

    def get(self, key):
        self.calls += 1
        return super().get(key)

    def set(self, key, value, timeout=None):
        self.calls += 1
        return super().set(key, value, timeout)


@pytest.fixture
def cache_down(app, monkeypatch):
    dead = CountingDeadRedis()
    monkeypatch.setitem(app.extensions["cache"], cache, dead)
    return dead


def test_catalog_answers_without_a_cache(client, admin_headers, slipper, cache_down):
    first = client.get("/slippers/")
    assert first.status_code == 200 and first.get_json()["total"] == 1
    assert client.get(f"/slippers/{slipper.id}").status_code == 200
    assert client.get("/categories/").status_code == 200
    patched = client.patch(f"/slippers/{slipper.id}", json={"price": "1.50"}, headers=admin_headers)
    assert patched.status_code == 200
    assert client.get(f"/slippers/{slipper.id}").get_json()["price"] == "1.50"
    etag = client.get("/slippers/").headers["ETag"]
    assert client.get("/slippers/", headers={"If-None-Match": etag}).status_code == 304
    # one failure opens the breaker: later requests do not wait on the dead backend again
    assert cache_down.calls == 1
    assert catalog_version() is None


def test_a_bump_missed_during_an_outage_happens_when_the_cache_is_back(
    app, client, admin_headers, slipper, monkeypatch
):
    assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 5  # cached
    backend = app.extensions["cache"][cache]

    def unreachable(*args, **kwargs):
        raise ConnectionError("redis is down")

    with monkeypatch.context() as outage:
        outage.setattr(backend, "set", unreachable)
        outage.setattr(backend, "get", unreachable)
        patched = client.patch(
            f"/slippers/{slipper.id}", json={"quantity": 3}, headers=admin_headers
        )
        assert patched.status_code == 200
        assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 3  # uncached
    # Redis is back with the old entries; once the back-off window has passed, the missed
    # bump is made before anything is read.
    monkeypatch.setattr(outages[backend], "down_until", 0.0)
    assert client.get(f"/slippers/{slipper.id}").get_json()["quantity"] == 3


def test_an_outage_of_another_app_does_not_touch_this_one(app, client, slipper):
    from slippers import create_app
    from tests.conftest import base_settings

    other = create_app(base_settings(Path(app.config["UPLOAD_FOLDER"]).parent, "sqlite://"))
    dead = CountingDeadRedis()
    other.extensions["cache"][cache] = dead
    with other.app_context():
        assert catalog_version() is None
        assert catalog_version() is None  # backing off: the dead backend is not asked again
    assert dead.calls == 1
    client.get(f"/slippers/{slipper.id}")
    with count_statements() as statements:
        client.get(f"/slippers/{slipper.id}")
    assert statements == []


def test_cache_reads_failing_midway_are_misses(client, slipper, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("redis went away")

    monkeypatch.setattr(cache, "get", lambda key: "v1" if key == "catalog:version" else broken())
    monkeypatch.setattr(cache, "set", broken)
    response = client.get(f"/slippers/{slipper.id}")
    assert response.status_code == 200
    assert response.get_json()["price"] == str(Decimal("189000.00"))


def test_a_full_cache_evicts_entries_before_the_version(client, slipper):
    """The in-process cache drops the soonest-expiring keys first; the version must outlive them."""
    version = catalog_version()
    for n in range(700):
        cache.set(f"filler:{n}", n)
    assert catalog_version() == version
    client.get(f"/slippers/{slipper.id}")
    with count_statements() as statements:
        client.get(f"/slippers/{slipper.id}")
    assert statements == []


def test_stock_stamps_of_a_big_catalog_do_not_push_cached_pages_out(client, category):
    """600 slippers browsed 100 at a time: 600 stock stamps, more than the in-process
    cache's 500 entries; the first page must still be a hit."""
    db.session.add_all(
        Slipper(name=f"Bulk {n:03d}", size="42", price=Decimal("10.00"), quantity=3)
        for n in range(600)
    )
    db.session.commit()
    pages = [f"/slippers/?sort=name&page_size=100&page={page}" for page in range(1, 7)]
    for path in pages:
        assert len(client.get(path).get_json()["items"]) == 100
    with count_statements() as statements:
        first = client.get(pages[0]).get_json()
    assert statements == []
    assert first["items"][0]["name"] == "Bulk 000"
