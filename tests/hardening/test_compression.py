"""gzip/Brotli for bodies over ~1 KB when accepted; tiny ones untouched; ETag/304 intact."""

import gzip
import json

import brotli
import pytest
from flask import Response, request

ETAG = "catalog-v1"


def test_large_json_is_gzipped_when_accepted(client):
    plain = client.get("/openapi.json")
    assert "Content-Encoding" not in plain.headers
    zipped = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["Vary"].lower()
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data)
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json()
    assert zipped.headers["Server-Timing"].startswith("app;dur=")


def test_brotli_when_the_client_prefers_it(client):
    response = client.get("/openapi.json", headers={"Accept-Encoding": "gzip;q=0.5, br"})
    assert response.headers["Content-Encoding"] == "br"
    assert json.loads(brotli.decompress(response.data))["openapi"]


def test_tiny_bodies_are_not_compressed(client):
    response = client.get("/health", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.get_json() == {"status": "ok"}
    assert "accept-encoding" in response.headers["Vary"].lower()


@pytest.fixture
def etag_app(make_app):
    """A view that answers its own conditional requests, like the catalog's cached reads."""
    app = make_app()

    def view():
        if ETAG in request.if_none_match:
            response = Response(status=304)
        else:
            body = json.dumps({"items": [{"id": i, "name": f"slipper {i}"} for i in range(200)]})
            response = Response(body, mimetype="application/json")
        response.set_etag(ETAG)
        return response

    app.add_url_rule("/_test/etag", "test_etag", view)
    return app


def test_etag_of_a_compressed_body_revalidates_to_304(etag_app):
    client = etag_app.test_client()
    first = client.get("/_test/etag", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    held = first.headers["ETag"]
    assert held == f'"{ETAG}:gzip"'  # a distinct validator for the gzip variant

    again = client.get("/_test/etag", headers={"Accept-Encoding": "gzip", "If-None-Match": held})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == held
    assert again.headers["Server-Timing"].startswith("app;dur=")


def test_identity_etag_still_revalidates(etag_app):
    client = etag_app.test_client()
    first = client.get("/_test/etag")
    assert first.headers["ETag"] == f'"{ETAG}"'
    again = client.get("/_test/etag", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["ETag"] == f'"{ETAG}"'


def test_a_changed_resource_is_sent_again(etag_app):
    response = etag_app.test_client().get(
        "/_test/etag", headers={"Accept-Encoding": "gzip", "If-None-Match": '"catalog-v0:gzip"'}
    )
    assert response.status_code == 200
    assert json.loads(gzip.decompress(response.data))["items"]


def test_static_assets_are_compressed_and_revalidate(client):
    path = "/static/vendor/swagger-ui/swagger-ui-bundle.js"
    with client.get(path) as plain:
        original = plain.data
    with client.get(path, headers={"Accept-Encoding": "gzip"}) as first:
        assert first.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(first.data) == original
        held = first.headers["ETag"]
    with client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": held}) as again:
        assert again.status_code == 304
        assert again.headers["ETag"] == held
