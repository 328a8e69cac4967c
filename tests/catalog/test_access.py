"""Who may call what: anyone reads the catalog; only admins write (user 403, anonymous 401)."""

from __future__ import annotations

import pytest

from tests.catalog.conftest import image_bytes, multipart
from tests.conftest import assert_error_shape

READS = [
    "/categories",
    "/categories/",
    "/categories/{category_id}",
    "/slippers",
    "/slippers/",
    "/slippers/{slipper_id}",
    "/slippers/{slipper_id}/images",
]

WRITES = [
    ("post", "/categories/", {"json": {"name": "Beach"}}, 201),
    ("put", "/categories/{category_id}", {"json": {"name": "Home"}}, 200),
    ("patch", "/categories/{category_id}", {"json": {"description": "Soft"}}, 200),
    ("delete", "/categories/{empty_category_id}", {}, 204),
    (
        "post",
        "/slippers/",
        {
            "json": {
                "name": "Aral Slide",
                "size": "41",
                "price": "89000.00",
                "quantity": 3,
                "category_id": "{category_id}",
            }
        },
        201,
    ),
    (
        "put",
        "/slippers/{slipper_id}",
        {
            "json": {
                "name": "Aral Slide",
                "size": "41",
                "price": 90000,
                "quantity": 2,
                "category_id": "{category_id}",
            }
        },
        200,
    ),
    ("patch", "/slippers/{slipper_id}", {"json": {"price": "99.99"}}, 200),
    ("delete", "/slippers/{slipper_id}", {}, 204),
    ("post", "/slippers/{slipper_id}/upload-images", {"files": True}, 201),
    ("delete", "/slippers/{slipper_id}/images/{image_id}", {}, 204),
]


@pytest.fixture
def ids(client, admin_headers, category, slipper, make_category, upload_dir):
    response = client.post(
        f"/slippers/{slipper.id}/upload-images",
        headers=admin_headers,
        **multipart((image_bytes(), "one.png")),
    )
    assert response.status_code == 201
    return {
        "category_id": category.id,
        "empty_category_id": make_category("Unused").id,
        "slipper_id": slipper.id,
        "image_id": response.get_json()[0]["id"],
    }


def _call(client, method, path, kwargs, ids, headers):
    path = path.format(**ids)
    options = {"headers": headers}
    if "json" in kwargs:
        body = dict(kwargs["json"])
        if body.get("category_id") == "{category_id}":
            body["category_id"] = ids["category_id"]
        options["json"] = body
    if kwargs.get("files"):
        options.update(multipart((image_bytes(), "new.png")))
    return getattr(client, method)(path, **options)


@pytest.mark.parametrize("path", READS)
def test_anyone_reads_the_catalog(client, ids, path):
    response = client.get(path.format(**ids))
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), WRITES)
def test_admin_writes(client, ids, admin_headers, method, path, kwargs, status):
    response = _call(client, method, path, kwargs, ids, admin_headers)
    assert response.status_code == status, response.get_json()


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), WRITES)
def test_plain_user_may_not_write(client, ids, user_headers, method, path, kwargs, status):
    response = _call(client, method, path, kwargs, ids, user_headers)
    assert_error_shape(response, 403)
    assert client.get(f"/slippers/{ids['slipper_id']}").status_code == 200


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), WRITES)
def test_anonymous_may_not_write(client, ids, method, path, kwargs, status):
    response = _call(client, method, path, kwargs, ids, {})
    assert_error_shape(response, 401)


def test_include_inactive_is_for_admins(client, admin_headers, user_headers, make_category):
    make_category("Visible")
    make_category("Hidden", is_active=False)
    assert_error_shape(client.get("/categories/?include_inactive=true"), 401)
    assert_error_shape(client.get("/categories/?include_inactive=true", headers=user_headers), 403)
    admin_view = client.get("/categories/?include_inactive=true", headers=admin_headers)
    assert [c["name"] for c in admin_view.get_json()] == ["Hidden", "Visible"]
    # the admin's answer is cached under its own key: the public list still hides it
    public = client.get("/categories/")
    assert [c["name"] for c in public.get_json()] == ["Visible"]
    assert [c["name"] for c in client.get("/categories/?include_inactive=false").get_json()] == [
        "Visible"
    ]


def test_openapi_documents_the_catalog(client):
    spec = client.get("/openapi.json").get_json()
    for path in (
        "/categories/",
        "/categories/{category_id}",
        "/slippers/",
        "/slippers/{slipper_id}",
        "/slippers/{slipper_id}/upload-images",
        "/slippers/{slipper_id}/images",
        "/slippers/{slipper_id}/images/{image_id}",
        "/uploads/{filename}",
    ):
        assert path in spec["paths"], path
    upload = spec["paths"]["/slippers/{slipper_id}/upload-images"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "403" in spec["paths"]["/slippers/"]["post"]["responses"]
