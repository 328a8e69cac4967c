"""Categories: list, read, create, replace, change, delete — and what each refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from slippers.catalog.models import Category, Slipper
from slippers.extensions import db
from tests.conftest import assert_error_shape

CATEGORY_FIELDS = {"id", "name", "description", "is_active", "created_at", "updated_at"}


def test_list_is_a_plain_array_of_active_categories_by_name(client, make_category):
    make_category("winter")
    make_category("Beach")
    make_category("Archive", is_active=False)
    make_category("house")
    response = client.get("/categories")
    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body, list)
    assert [c["name"] for c in body] == ["Beach", "house", "winter"]
    assert set(body[0]) == CATEGORY_FIELDS


def test_get_one_category(client, make_category):
    hidden = make_category("Archive", is_active=False, description="Old stock")
    body = client.get(f"/categories/{hidden.id}").get_json()
    assert body["name"] == "Archive"
    assert body["description"] == "Old stock"
    assert body["is_active"] is False
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert_error_shape(client.get("/categories/999999"), 404)


def test_create_category(client, admin_headers):
    response = client.post(
        "/categories/",
        json={"name": "  Qishki  ", "description": "Winter slippers"},
        headers=admin_headers,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "Qishki"
    assert body["is_active"] is True
    assert client.get(f"/categories/{body['id']}").get_json()["name"] == "Qishki"


@pytest.mark.parametrize("name", ["house", "HOUSE", " House "])
def test_duplicate_names_conflict_ignoring_case(client, admin_headers, category, name):
    response = client.post("/categories/", json={"name": name}, headers=admin_headers)
    assert_error_shape(response, 409)
    assert len(db.session.execute(select(Category)).scalars().all()) == 1


def test_unicode_names_round_trip(client, admin_headers):
    name = "Тапочки — o\u2018zbekcha 🩴"
    response = client.post("/categories/", json={"name": name}, headers=admin_headers)
    assert response.status_code == 201
    assert client.get(f"/categories/{response.get_json()['id']}").get_json()["name"] == name
    upper = client.post("/categories/", json={"name": name.upper()}, headers=admin_headers)
    assert_error_shape(upper, 409)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": None},
        {"name": 42},
        {"name": "x" * 101},
        {"name": "ß" * 60},  # folds to 120 characters: longer than the key column
        {"name": "bad\x00name"},
        {"name": "tab\tname"},
        {"name": "ok", "description": "d" * 2001},
        {"name": "ok", "is_active": "maybe"},
        {"name": "ok", "id": 7},
        {"name": "ok", "name_key": "other"},
    ],
)
def test_create_refuses_bad_bodies(client, admin_headers, body):
    response = client.post("/categories/", json=body, headers=admin_headers)
    assert_error_shape(response, 422)
    assert db.session.execute(select(Category)).first() is None


def test_put_replaces_and_patch_changes(client, admin_headers, make_category):
    category = make_category("House", description="Warm", is_active=False)
    patched = client.patch(
        f"/categories/{category.id}", json={"description": "Soft"}, headers=admin_headers
    )
    assert patched.status_code == 200
    assert patched.get_json()["name"] == "House"
    assert patched.get_json()["description"] == "Soft"
    assert patched.get_json()["is_active"] is False
    put = client.put(f"/categories/{category.id}", json={"name": "Home"}, headers=admin_headers)
    assert put.status_code == 200
    assert put.get_json()["description"] is None
    assert put.get_json()["is_active"] is True
    assert_error_shape(
        client.put("/categories/999999", json={"name": "X"}, headers=admin_headers), 404
    )


def test_rename_conflicts_only_with_other_categories(client, admin_headers, make_category):
    house = make_category("House")
    make_category("Beach")
    same = client.patch(f"/categories/{house.id}", json={"name": "HOUSE"}, headers=admin_headers)
    assert same.status_code == 200
    assert same.get_json()["name"] == "HOUSE"
    clash = client.patch(f"/categories/{house.id}", json={"name": "beach"}, headers=admin_headers)
    assert_error_shape(clash, 409)
    assert client.get(f"/categories/{house.id}").get_json()["name"] == "HOUSE"


def test_patch_refuses_bad_values(client, admin_headers, category):
    for body in ({"name": ""}, {"name": None}, {"is_active": None}, {"unknown": 1}):
        response = client.patch(f"/categories/{category.id}", json=body, headers=admin_headers)
        assert_error_shape(response, 422)


def test_delete_unused_category(client, admin_headers, make_category):
    category = make_category("Unused")
    assert client.delete(f"/categories/{category.id}", headers=admin_headers).status_code == 204
    assert_error_shape(client.get(f"/categories/{category.id}"), 404)
    assert_error_shape(client.delete(f"/categories/{category.id}", headers=admin_headers), 404)


def test_delete_refused_while_a_live_slipper_uses_it(client, admin_headers, category, slipper):
    body = assert_error_shape(
        client.delete(f"/categories/{category.id}", headers=admin_headers), 409
    )
    assert "1 slipper" in body["message"]
    assert client.get(f"/categories/{category.id}").status_code == 200
    assert client.get(f"/slippers/{slipper.id}").get_json()["category_name"] == "House"


def test_delete_releases_soft_deleted_slippers(client, admin_headers, category, make_slipper):
    gone = make_slipper("Old model", deleted_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert client.delete(f"/categories/{category.id}", headers=admin_headers).status_code == 204
    row = db.session.execute(
        select(Slipper.category_id, Slipper.name).where(Slipper.id == gone.id)
    ).one()
    assert row.category_id is None
    assert row.name == "Old model"
