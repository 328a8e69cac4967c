"""413 for JSON bodies over MAX_JSON_KB (with or without Content-Length); uploads keep the
app-wide limit; over-long query strings are refused in the error shape."""

import io
import json

import pytest
from flask import request

from tests.conftest import assert_error_shape

TWO_MB = 2 * 1024 * 1024


def _big_json(size: int) -> bytes:
    return json.dumps({"username": "u" * size, "password": "p" * 10}).encode()


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/orders/"])
def test_json_body_over_the_limit_is_413(client, path):
    body = _big_json(TWO_MB)
    response = client.post(path, data=body, content_type="application/json")
    body = assert_error_shape(response, 413)
    assert "too large" in body["message"]


def test_chunked_json_body_without_content_length_is_413(client):
    """A chunked body has no Content-Length to check up front: reading it stops at the limit."""
    response = client.post(
        "/auth/register",
        input_stream=io.BytesIO(_big_json(TWO_MB)),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.request.content_length is None
    assert_error_shape(response, 413)


def test_chunked_json_body_under_the_limit_is_read(client):
    response = client.post(
        "/auth/login",
        input_stream=io.BytesIO(json.dumps({"username": "nobody", "password": "x" * 20}).encode()),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error_shape(response, 401)  # parsed, checked, refused: the body got through


def test_json_body_just_under_the_limit_is_not_413(client):
    body = _big_json(1024 * 1024 - 200)
    assert len(body) <= 1024 * 1024
    response = client.post("/auth/register", data=body, content_type="application/json")
    assert_error_shape(response, 422)


@pytest.fixture
def upload_app(make_app):
    """Uploads limited to one 1 MB image: MAX_CONTENT_LENGTH = 1 MB + 1 MB of form overhead."""
    app = make_app(MAX_IMAGE_MB=1, MAX_IMAGES_PER_REQUEST=1)

    def view():
        return {"bytes": len(request.files["file"].read())}

    app.add_url_rule("/_test/upload", "test_upload", view, methods=["POST"])
    return app


def _multipart(size: int) -> dict:
    """A one-file form body built in memory (the test client would spill it to a temp file)."""
    boundary = "hardening-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"x" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def test_multipart_keeps_the_app_wide_limit(upload_app):
    assert upload_app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    client = upload_app.test_client()
    size = 1536 * 1024  # over MAX_JSON_KB, under MAX_CONTENT_LENGTH
    response = client.post("/_test/upload", **_multipart(size))
    assert response.status_code == 200
    assert response.get_json() == {"bytes": size}
    assert_error_shape(client.post("/_test/upload", **_multipart(3 * 1024 * 1024)), 413)


def test_long_query_string_is_refused(client):
    body = assert_error_shape(client.get("/health?q=" + "a" * 5000), 414)
    assert "4096" in body["message"]
    assert client.get("/health?q=" + "a" * 4000).status_code == 200
