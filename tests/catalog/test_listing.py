"""Listing: search, every filter, every sort key, pagination and refused query strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from slippers.catalog import listing
from tests.conftest import assert_error_shape

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["filter-first", "ordered-walk"])
def plan(request, monkeypatch):
    """Both query shapes of a filtered page (see listing._page_ids) must agree."""
    monkeypatch.setattr(
        listing, "FILTER_FIRST_BELOW", 5000 if request.param == "filter-first" else 0
    )
    return request.param


@pytest.fixture
def shelf(make_slipper, make_category, category):
    """Seven live slippers and one deleted, with known names, prices, sizes and ages."""
    beach = make_category("Beach")
    specs = [
        # key: name, description, size, price, quantity, category, age (days)
        ("velvet", "Samarkand Velvet", "Soft velvet upper", "40", "189000.00", 5, category, 6),
        ("felt", "Fergana Felt", "Hand-felted WOOL", "42", "259000.00", 0, category, 5),
        ("slide", "Aral Slide", "Quick-dry EVA", "42", "89000.00", 12, beach, 4),
        ("flip", "chorvoq flip-flop", None, "38", "95000.00", 0, beach, 3),
        ("wool", "Wool boot 100%", "Warm_lining", "44", "449000.00", 2, category, 2),
        ("plain", "Wool boot 1000", "Warm lining", "44", "189000.00", 1, category, 1),
        ("kids", "Bolajon Bunny", "Plush", "XS", "119000.00", 3, beach, 0),
    ]
    made = {}
    for key, name, description, size, price, qty, cat, age in specs:
        made[key] = make_slipper(
            name,
            description=description,
            size=size,
            price=Decimal(price),
            quantity=qty,
            category_id=cat.id,
            created_at=BASE_TIME - timedelta(days=age),
        )
    make_slipper("Deleted Velvet", deleted_at=BASE_TIME, created_at=BASE_TIME)
    made["beach"] = beach
    made["house"] = category
    return made


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def ids_of(shelf, *keys) -> list[int]:
    return [shelf[key].id for key in keys]


def test_default_order_is_newest_first(client, shelf):
    body = client.get("/slippers/").get_json()
    assert [i["id"] for i in body["items"]] == ids_of(
        shelf, "kids", "plain", "wool", "flip", "slide", "felt", "velvet"
    )
    assert (body["total"], body["page"], body["page_size"], body["pages"]) == (7, 1, 20, 1)
    assert "images" not in body["items"][0]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("velvet", ["Samarkand Velvet"]),  # name, any case; the deleted one never shows
        ("VELVET", ["Samarkand Velvet"]),
        ("wool", ["Wool boot 1000", "Wool boot 100%", "Fergana Felt"]),  # name or description
        ("eva", ["Aral Slide"]),  # description only
        ("xs", ["Bolajon Bunny"]),  # size
        ("%", ["Wool boot 100%"]),  # literal percent sign
        ("100%", ["Wool boot 100%"]),
        ("_", ["Wool boot 100%"]),  # literal underscore
        ("m_l", ["Wool boot 100%"]),  # "Warm_lining", not "Warm lining"
        ("flip-flop", ["chorvoq flip-flop"]),
        ("  aral  ", ["Aral Slide"]),  # trimmed
        ("nothing like it", []),
    ],
)
def test_search_matches_name_description_and_size(client, shelf, plan, q, expected):
    assert names(client.get("/slippers/", query_string={"q": q, "sort": "-created_at"})) == expected


def test_blank_search_lists_everything(client, shelf):
    assert client.get("/slippers/?q=%20%20").get_json()["total"] == 7


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"category_id": "beach"}, ["kids", "flip", "slide"]),
        ({"category_id": "house"}, ["plain", "wool", "felt", "velvet"]),
        ({"category_id": 999999}, []),
        ({"min_price": "189000"}, ["plain", "wool", "felt", "velvet"]),  # inclusive
        ({"max_price": "95000.00"}, ["flip", "slide"]),  # inclusive
        ({"min_price": "95000", "max_price": "189000"}, ["kids", "plain", "flip", "velvet"]),
        ({"min_price": "189000", "max_price": "189000"}, ["plain", "velvet"]),
        ({"size": "42"}, ["slide", "felt"]),
        ({"size": "4"}, []),  # exact, not a substring
        ({"in_stock": "true"}, ["kids", "plain", "wool", "slide", "velvet"]),
        ({"in_stock": "false"}, ["flip", "felt"]),  # only sold out
        ({"in_stock": "false", "category_id": "beach"}, ["flip"]),
        ({"q": "wool", "in_stock": "true", "max_price": "200000"}, ["plain"]),
    ],
)
def test_filters(client, shelf, plan, query, expected):
    query = dict(query)
    if query.get("category_id") in ("beach", "house"):
        query["category_id"] = shelf[query["category_id"]].id
    response = client.get("/slippers/", query_string=query)
    assert [item["id"] for item in response.get_json()["items"]] == ids_of(shelf, *expected)
    assert response.get_json()["total"] == len(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["slide", "kids", "flip", "felt", "velvet", "wool", "plain"]),
        ("-name", ["plain", "wool", "velvet", "felt", "flip", "kids", "slide"]),
        # equal prices (velvet, plain) are ordered by id in the same direction
        ("price", ["slide", "flip", "kids", "velvet", "plain", "felt", "wool"]),
        ("-price", ["wool", "felt", "plain", "velvet", "kids", "flip", "slide"]),
        ("created_at", ["velvet", "felt", "slide", "flip", "wool", "plain", "kids"]),
        ("-created_at", ["kids", "plain", "wool", "flip", "slide", "felt", "velvet"]),
    ],
)
def test_every_sort_key(client, shelf, plan, sort, expected):
    response = client.get("/slippers/", query_string={"sort": sort})
    assert [item["id"] for item in response.get_json()["items"]] == ids_of(shelf, *expected)
    # the same order with a filter that keeps everything (the filtered query shape)
    filtered = client.get("/slippers/", query_string={"sort": sort, "min_price": "0"})
    assert [item["id"] for item in filtered.get_json()["items"]] == ids_of(shelf, *expected)


def test_pagination_totals_on_the_last_page_and_past_it(client, shelf, plan):
    last = client.get("/slippers/?page_size=3&page=3&sort=price").get_json()
    assert [i["id"] for i in last["items"]] == ids_of(shelf, "wool")
    assert (last["total"], last["pages"], last["page"], last["page_size"]) == (7, 3, 3, 3)
    middle = client.get("/slippers/?page_size=3&page=2&sort=price").get_json()
    assert [i["id"] for i in middle["items"]] == ids_of(shelf, "velvet", "plain", "felt")
    past = client.get("/slippers/?page_size=3&page=4").get_json()
    assert past["items"] == []
    assert (past["total"], past["pages"], past["page"]) == (7, 3, 4)
    far = client.get("/slippers/?page=1000000").get_json()
    assert far["items"] == [] and far["total"] == 7


def test_empty_catalog(client):
    assert client.get("/slippers").get_json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": 20,
        "pages": 0,
    }


@pytest.mark.parametrize(
    "query",
    [
        {"page_size": 101},
        {"page_size": 0},
        {"page": 0},
        {"page": -1},
        {"page": "abc"},
        {"page": 10**20},
        {"page_size": "1.5"},
        {"sort": "id"},
        {"sort": "price;drop table slippers"},
        {"sort": "-"},
        {"sort": ""},
        {"min_price": "abc"},
        {"min_price": "-1"},
        {"max_price": "1e30"},
        {"max_price": str(10**20)},
        {"min_price": "10", "max_price": "9.99"},
        {"category_id": "x"},
        {"category_id": 0},
        {"in_stock": "perhaps"},
        {"include_images": "2"},
        {"q": "x" * 101},
        {"q": "nul\x00"},
        {"size": "x" * 17},
    ],
)
def test_refused_query_strings(client, shelf, query):
    assert_error_shape(client.get("/slippers/", query_string=query), 422)


def test_min_greater_than_max_names_the_field(client):
    body = assert_error_shape(client.get("/slippers/?min_price=10&max_price=5"), 422)
    assert "min_price" in body["errors"]


def test_include_images_gives_every_item_its_images(client, shelf):
    items = client.get("/slippers/?include_images=true&page_size=2").get_json()["items"]
    assert [item["images"] for item in items] == [[], []]


def test_both_paths_answer_without_redirect(client, shelf):
    assert client.get("/slippers").status_code == 200
    assert client.get("/slippers/").status_code == 200
    assert client.get("/categories").status_code == 200
