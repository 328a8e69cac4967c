"""Admin user management."""

import pytest

from slippers.auth.models import User
from slippers.extensions import db
from tests.conftest import TEST_PASSWORD, assert_error_shape, bearer, login_tokens


def test_list_requires_admin(client, user_headers):
    assert_error_shape(client.get("/users/"), 401)
    assert_error_shape(client.get("/users/", headers=user_headers), 403)


def test_list_is_paginated_and_searchable(client, make_user, admin_headers):
    make_user("tashkent_anna", name="Anna", email="anna@example.uz")
    make_user("bob", surname="Tashkentov")
    make_user("carl", phone_number="+998911112233")
    page = client.get("/users/?page_size=2", headers=admin_headers).get_json()
    assert page["total"] == 4 and page["pages"] == 2 and len(page["items"]) == 2
    assert set(page) == {"items", "total", "page", "page_size", "pages"}
    found = client.get("/users?q=TASHKENT", headers=admin_headers).get_json()
    assert sorted(u["username"] for u in found["items"]) == ["bob", "tashkent_anna"]
    by_phone = client.get("/users/?q=1112233", headers=admin_headers).get_json()
    assert [u["username"] for u in by_phone["items"]] == ["carl"]
    literal = client.get("/users/?q=%25", headers=admin_headers).get_json()
    assert literal["total"] == 0
    past_end = client.get("/users/?page=9", headers=admin_headers).get_json()
    assert past_end["items"] == [] and past_end["total"] == 4


@pytest.mark.parametrize("query", ["page=0", "page_size=101", "page_size=abc", "page=-1"])
def test_bad_pagination_is_422(client, admin_headers, query):
    assert_error_shape(client.get(f"/users/?{query}", headers=admin_headers), 422)


def test_get_one_never_leaks_hash(client, user, admin_headers):
    response = client.get(f"/users/{user.id}", headers=admin_headers)
    assert response.status_code == 200
    assert "password" not in response.get_data(as_text=True)
    assert_error_shape(client.get("/users/99999", headers=admin_headers), 404)


def test_patch_changes_fields_and_admin_flag(client, user, admin_headers):
    response = client.patch(
        f"/users/{user.id}",
        json={"name": "Dilnoza", "email": "D@Example.com", "is_admin": True},
        headers=admin_headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Dilnoza" and body["email"] == "d@example.com" and body["is_admin"]


def test_patch_rejects_duplicates_and_unknown_fields(client, make_user, user, admin_headers):
    make_user("taken", email="taken@example.com")
    dup = client.patch(
        f"/users/{user.id}", json={"email": "taken@example.com"}, headers=admin_headers
    )
    assert_error_shape(dup, 409)
    bad = client.patch(f"/users/{user.id}", json={"username": "x1x"}, headers=admin_headers)
    assert_error_shape(bad, 422)
    bad_type = client.patch(f"/users/{user.id}", json={"is_admin": "maybe"}, headers=admin_headers)
    assert_error_shape(bad_type, 422)


def test_deactivation_revokes_tokens_and_login(client, user, admin_headers):
    tokens = login_tokens(client, "shopper")
    response = client.patch(f"/users/{user.id}", json={"is_active": False}, headers=admin_headers)
    assert response.status_code == 200
    assert_error_shape(client.get("/auth/me", headers=bearer(tokens["access_token"])), 401)
    refused = client.post("/auth/login", json={"username": "shopper", "password": TEST_PASSWORD})
    assert_error_shape(refused, 401)


def test_admin_cannot_demote_or_delete_self(client, admin, admin_headers):
    demote = client.patch(f"/users/{admin.id}", json={"is_admin": False}, headers=admin_headers)
    assert_error_shape(demote, 409)
    assert_error_shape(client.delete(f"/users/{admin.id}", headers=admin_headers), 409)


def test_delete_deactivates_and_anonymises(client, make_user, admin_headers):
    victim = make_user("leaver", email="leaver@example.com", phone_number="+998900001111")
    tokens = login_tokens(client, "leaver")
    response = client.delete(f"/users/{victim.id}", headers=admin_headers)
    assert response.status_code == 204 and response.data == b""
    row = db.session.get(User, victim.id)
    assert row is not None and row.is_active is False
    assert row.username == f"deleted-{victim.id}" and row.email is None and row.phone_number is None
    assert_error_shape(client.get("/auth/me", headers=bearer(tokens["access_token"])), 401)
    # the freed username can be registered again
    again = client.post("/auth/register", json={"username": "leaver", "password": "Good-Pass-9x"})
    assert again.status_code == 201


def test_user_routes_forbidden_for_users(client, user, other_user, user_headers):
    for method, path in (
        ("get", f"/users/{other_user.id}"),
        ("patch", f"/users/{user.id}"),
        ("delete", f"/users/{other_user.id}"),
    ):
        response = getattr(client, method)(path, json={}, headers=user_headers)
        assert_error_shape(response, 403)
