"""Stock moves and the catalog cache: every cached page or detail showing a slipper whose
stock moved is rebuilt on the next read, and nothing else is (slippers/catalog/cache.py)."""

from __future__ import annotations

from slippers.catalog import listing
from slippers.catalog.cache import catalog_version
from slippers.extensions import db
from slippers.orders.stock import take_stock
from tests.conftest import assert_error_shape
from tests.orders.test_create import place


def _quantities(client, path: str) -> dict[int, int]:
    body = client.get(path).get_json()
    items = body["items"] if isinstance(body, dict) and "items" in body else [body]
    return {item["id"]: item["quantity"] for item in items}


def test_an_order_refreshes_what_shows_its_slippers_and_keeps_the_rest_cached(
    client, user_headers, make_slipper, count_statements
):
    sold = make_slipper("Bought", quantity=10)
    other = make_slipper("Untouched", quantity=7)
    pages = {
        "list": "/slippers/?sort=name",
        "search": "/slippers/?q=bought",
        "detail": f"/slippers/{sold.id}",
        "other detail": f"/slippers/{other.id}",
        "other search": "/slippers/?q=untouched",
    }
    before = {name: _quantities(client, path) for name, path in pages.items()}  # now cached
    assert before["list"] == {sold.id: 10, other.id: 7}
    version = catalog_version()

    response = place(client, user_headers, (sold.id, 3))
    assert response.status_code == 201

    assert catalog_version() == version  # nobody sold out: the version stays
    assert _quantities(client, pages["list"]) == {sold.id: 7, other.id: 7}
    assert _quantities(client, pages["search"]) == {sold.id: 7}
    detail = client.get(pages["detail"]).get_json()
    assert detail["quantity"] == 7 and detail["in_stock"] is True
    assert detail["updated_at"] > client.get(pages["other detail"]).get_json()["updated_at"]
    for name in ("other detail", "other search"):  # not showing the slipper: still hits
        with count_statements() as statements:
            assert _quantities(client, pages[name]) == before[name]
        assert statements == [], name
    with count_statements() as statements:  # rebuilt once, then a hit again
        assert _quantities(client, pages["list"]) == {sold.id: 7, other.id: 7}
    assert statements == []


def test_selling_out_and_coming_back_move_a_slipper_between_stock_filters(
    client, user_headers, make_slipper, count_statements
):
    last = make_slipper("Last pairs", quantity=2)
    plenty = make_slipper("Plenty", quantity=50)
    in_stock, sold_out = "/slippers/?in_stock=true", "/slippers/?in_stock=false"
    unfiltered = "/slippers/?q=plenty"
    assert set(_quantities(client, in_stock)) == {last.id, plenty.id}
    assert _quantities(client, sold_out) == {}
    assert _quantities(client, unfiltered) == {plenty.id: 50}
    version = catalog_version()

    order = place(client, user_headers, (last.id, 2)).get_json()
    assert catalog_version() == version  # only the in_stock lists' token changed
    with count_statements() as statements:  # a list without the filter is untouched
        assert _quantities(client, unfiltered) == {plenty.id: 50}
    assert statements == []
    listed = client.get(in_stock).get_json()
    assert [item["id"] for item in listed["items"]] == [plenty.id] and listed["total"] == 1
    assert _quantities(client, sold_out) == {last.id: 0}
    assert client.get(f"/slippers/{last.id}").get_json()["in_stock"] is False

    cancelled = client.patch(
        f"/orders/{order['id']}", json={"status": "cancelled"}, headers=user_headers
    )
    assert cancelled.status_code == 200
    assert _quantities(client, in_stock) == {last.id: 2, plenty.id: 50}
    assert client.get(sold_out).get_json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": 20,
        "pages": 0,
    }


def test_a_refused_order_announces_nothing(client, user_headers, make_slipper, count_statements):
    first = make_slipper("First", quantity=5)
    short = make_slipper("Short", quantity=1)
    path = f"/slippers/{first.id}"
    client.get(path)
    # `first` is taken (lower id first), then `short` fails and the whole order rolls back
    assert_error_shape(place(client, user_headers, (first.id, 2), (short.id, 3)), 409)
    with count_statements() as statements:
        assert client.get(path).get_json()["quantity"] == 5
    assert statements == []


def test_deleting_a_pending_order_shows_its_stock_back(client, user_headers, make_slipper):
    slipper = make_slipper(quantity=4)
    order = place(client, user_headers, (slipper.id, 3)).get_json()
    assert _quantities(client, f"/slippers/{slipper.id}") == {slipper.id: 1}
    assert client.delete(f"/orders/{order['id']}", headers=user_headers).status_code == 204
    assert _quantities(client, f"/slippers/{slipper.id}") == {slipper.id: 4}
    assert _quantities(client, "/slippers/") == {slipper.id: 4}


def test_an_order_committed_while_a_page_is_built_is_not_hidden_by_the_cache(
    client, make_slipper, monkeypatch
):
    """The race the stamps are read for: the page query ran, then an order took stock
    and renewed the stamps, then the page was stored. The stored body must not keep the
    old stock beside the new stamps (it would be served as current until the next order)."""
    slipper = make_slipper(quantity=10)
    built = listing.list_slippers

    def build_then_sell(args):
        page = built(args)
        take_stock({slipper.id: 4})  # an order lands, and its stamps are renewed
        db.session.commit()
        return page

    monkeypatch.setattr(listing, "list_slippers", build_then_sell)
    assert _quantities(client, "/slippers/") == {slipper.id: 6}
    monkeypatch.setattr(listing, "list_slippers", built)
    assert _quantities(client, "/slippers/") == {slipper.id: 6}
