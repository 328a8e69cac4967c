"""Image uploads: only real JPEG/PNG/WebP, limits, clean re-encoding, files on disk, serving."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from slippers.catalog.models import SlipperImage
from slippers.extensions import db
from tests.catalog.conftest import (
    image_bytes,
    multipart,
    noise_png,
    png_declaring,
    stored_files,
)
from tests.conftest import assert_error_shape


def upload(client, slipper_id, headers, *files):
    return client.post(
        f"/slippers/{slipper_id}/upload-images",
        headers=headers,
        **multipart(*files),
    )


def served(client, url):
    """The file at `url`, read fully and closed (send_file streams it)."""
    response = client.get(url)
    assert response.status_code == 200, url
    response.get_data()
    response.close()
    return response


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")],
)
def test_good_upload_is_served_back(client, admin_headers, slipper, upload_dir, fmt, content_type):
    # the client's name and type are ignored: the content decides
    response = upload(
        client, slipper.id, admin_headers, (image_bytes(fmt), "photo.gif", "text/plain")
    )
    assert response.status_code == 201
    [image] = response.get_json()
    assert set(image) == {"id", "url", "is_primary", "order_index"}
    assert image["is_primary"] is True and image["order_index"] == 0
    assert image["url"].startswith("/uploads/") and "photo" not in image["url"]
    file = served(client, image["url"])
    assert file.headers["Content-Type"] == content_type
    assert file.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in file.headers["Cache-Control"]
    with Image.open(io.BytesIO(file.get_data())) as img:
        assert img.format == fmt and img.size == (16, 12)
    on_disk = stored_files(client.application)
    assert image["url"].rsplit("/", 1)[1] in on_disk


def test_several_files_keep_their_order_and_one_primary(client, admin_headers, slipper, upload_dir):
    first = upload(client, slipper.id, admin_headers, (image_bytes("PNG"), "a.png"))
    more = upload(
        client,
        slipper.id,
        admin_headers,
        (image_bytes("JPEG"), "b.jpg"),
        (image_bytes("WEBP"), "c.webp"),
    )
    assert more.status_code == 201
    listed = client.get(f"/slippers/{slipper.id}/images").get_json()
    assert listed == first.get_json() + more.get_json()
    assert [i["order_index"] for i in listed] == [0, 1, 2]
    assert [i["is_primary"] for i in listed] == [True, False, False]
    detail = client.get(f"/slippers/{slipper.id}").get_json()
    assert detail["images"] == listed
    assert detail["primary_image_url"] == listed[0]["url"]


def test_exif_is_stripped_and_orientation_applied(client, admin_headers, slipper, upload_dir):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    exif[0x010F] = "SpyCam"  # camera make
    exif[0x8825] = {2: (41.0, 18.0, 0.0)}  # GPS latitude
    original = image_bytes("JPEG", size=(40, 20), exif=exif.tobytes())
    with Image.open(io.BytesIO(original)) as img:
        assert img.getexif()[0x010F] == "SpyCam"
    response = upload(client, slipper.id, admin_headers, (original, "me.jpg", "image/jpeg"))
    assert response.status_code == 201
    data = served(client, response.get_json()[0]["url"]).get_data()
    with Image.open(io.BytesIO(data)) as img:
        assert dict(img.getexif()) == {}
        assert "exif" not in img.info
        assert img.size == (20, 40)  # turned upright
    assert b"SpyCam" not in data


def test_png_text_chunks_are_stripped(client, admin_headers, slipper, upload_dir):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "secret-location")
    original = image_bytes("PNG", pnginfo=info)
    response = upload(client, slipper.id, admin_headers, (original, "x.png"))
    data = served(client, response.get_json()[0]["url"]).get_data()
    assert b"secret-location" not in data


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>'
)
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize(
    ("data", "name", "ctype"),
    [
        (HTML, "photo.jpg", "image/jpeg"),
        (SVG, "logo.svg", "image/svg+xml"),
        (SVG, "logo.png", "image/png"),
        (b"", "empty.png", "image/png"),
        (b"GIF89a" + b"\x00" * 40, "anim.gif", "image/gif"),
        (image_bytes("GIF"), "real.gif", "image/gif"),
        (image_bytes("BMP"), "real.bmp", "image/bmp"),
        (image_bytes("PNG", size=(200, 200))[:300], "truncated.png", "image/png"),
        (image_bytes("JPEG", size=(200, 200))[:400], "truncated.jpg", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "header-only.png", "image/png"),
        (png_declaring(30000, 30000), "bomb.png", "image/png"),
        (png_declaring(7000, 7000), "49mp.png", "image/png"),  # over our 40 MP bound
        (png_declaring(0, 10), "zero.png", "image/png"),
    ],
)
def test_refused_files(client, admin_headers, slipper, upload_dir, data, name, ctype):
    before = stored_files(client.application)
    response = upload(client, slipper.id, admin_headers, (data, name, ctype))
    body = assert_error_shape(response, 422)
    assert "images" in body["errors"]
    assert stored_files(client.application) == before
    assert client.get(f"/slippers/{slipper.id}/images").get_json() == []


def test_one_bad_file_refuses_the_whole_request(client, admin_headers, slipper, upload_dir):
    response = upload(
        client,
        slipper.id,
        admin_headers,
        (image_bytes("PNG"), "good.png"),
        (HTML, "bad.png", "image/png"),
        (image_bytes("JPEG"), "good.jpg"),
    )
    body = assert_error_shape(response, 422)
    assert "File 2" in body["message"]
    assert stored_files(client.application) == set()
    assert db.session.execute(select(SlipperImage)).first() is None


def test_at_most_ten_per_request_and_per_slipper(client, admin_headers, slipper, upload_dir):
    eleven = [(image_bytes(), f"{n}.png") for n in range(11)]
    assert_error_shape(upload(client, slipper.id, admin_headers, *eleven), 422)
    assert stored_files(client.application) == set()
    assert upload(client, slipper.id, admin_headers, *eleven[:6]).status_code == 201
    before = stored_files(client.application)
    # 6 + 5 > 10: refused as a whole, across requests
    assert_error_shape(upload(client, slipper.id, admin_headers, *eleven[:5]), 422)
    assert upload(client, slipper.id, admin_headers, *eleven[:4]).status_code == 201
    assert len(stored_files(client.application)) == 10
    before = stored_files(client.application)
    body = assert_error_shape(upload(client, slipper.id, admin_headers, eleven[0]), 422)
    assert "at most 10" in body["message"]
    assert stored_files(client.application) == before
    assert len(client.get(f"/slippers/{slipper.id}/images").get_json()) == 10


def test_no_files_is_422(client, admin_headers, slipper):
    response = client.post(
        f"/slippers/{slipper.id}/upload-images",
        headers=admin_headers,
        data={"images": "not a file"},
        content_type="multipart/form-data",
    )
    assert_error_shape(response, 422)


def test_a_file_over_the_limit_is_413(app, client, admin_headers, slipper, upload_dir, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_IMAGE_MB", 1)
    big = noise_png(700, 700)  # a valid image of about 1.4 MB
    assert len(big) > 1024 * 1024
    response = upload(
        client, slipper.id, admin_headers, (image_bytes(), "ok.png"), (big, "big.png")
    )
    body = assert_error_shape(response, 413)
    assert "File 2" in body["message"]
    assert stored_files(app) == set()


def test_a_request_over_max_content_length_is_413(
    app, client, admin_headers, slipper, upload_dir, monkeypatch
):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    response = upload(client, slipper.id, admin_headers, (noise_png(200, 200), "a.png"))
    assert_error_shape(response, 413)
    assert stored_files(app) == set()


def test_upload_to_unknown_or_deleted_slipper_is_404(client, admin_headers, slipper, upload_dir):
    assert_error_shape(upload(client, 999999, admin_headers, (image_bytes(), "a.png")), 404)
    client.delete(f"/slippers/{slipper.id}", headers=admin_headers)
    assert_error_shape(upload(client, slipper.id, admin_headers, (image_bytes(), "a.png")), 404)
    assert stored_files(client.application) == set()


def test_files_are_removed_when_the_commit_fails(
    client, admin_headers, slipper, upload_dir, monkeypatch
):
    def failing_commit():
        raise OperationalError("COMMIT", {}, Exception("database went away"))

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = upload(
        client, slipper.id, admin_headers, (image_bytes(), "a.png"), (image_bytes(), "b.png")
    )
    assert_error_shape(response, 500)
    assert stored_files(client.application) == set()


def test_delete_removes_row_and_file_and_promotes_the_next(
    client, admin_headers, slipper, upload_dir
):
    images = upload(
        client, slipper.id, admin_headers, *[(image_bytes(), f"{n}.png") for n in range(3)]
    ).get_json()
    primary_file = images[0]["url"].rsplit("/", 1)[1]
    response = client.delete(
        f"/slippers/{slipper.id}/images/{images[0]['id']}", headers=admin_headers
    )
    assert response.status_code == 204
    assert primary_file not in stored_files(client.application)
    assert client.get(images[0]["url"]).status_code == 404
    left = client.get(f"/slippers/{slipper.id}/images").get_json()
    assert [i["id"] for i in left] == [images[1]["id"], images[2]["id"]]
    assert [i["is_primary"] for i in left] == [True, False]
    assert client.get(f"/slippers/{slipper.id}").get_json()["primary_image_url"] == images[1]["url"]
    # deleting a non-primary image leaves the primary alone
    client.delete(f"/slippers/{slipper.id}/images/{images[2]['id']}", headers=admin_headers)
    assert [i["is_primary"] for i in client.get(f"/slippers/{slipper.id}/images").get_json()] == [
        True
    ]
    # the next upload is not primary: there is one already
    added = upload(client, slipper.id, admin_headers, (image_bytes(), "n.png")).get_json()
    assert added[0]["is_primary"] is False and added[0]["order_index"] == 2


def test_delete_image_of_another_slipper_is_404(
    client, admin_headers, slipper, make_slipper, upload_dir
):
    other = make_slipper("Other")
    image = upload(client, other.id, admin_headers, (image_bytes(), "a.png")).get_json()[0]
    assert_error_shape(
        client.delete(f"/slippers/{slipper.id}/images/{image['id']}", headers=admin_headers), 404
    )
    assert_error_shape(
        client.delete(f"/slippers/{other.id}/images/999999", headers=admin_headers), 404
    )
    assert len(client.get(f"/slippers/{other.id}/images").get_json()) == 1


@pytest.mark.parametrize(
    "name", ["../conftest.py", "..%2Fsecret", "x.html", "0" * 32 + ".svg", "0" * 32 + ".png"]
)
def test_only_stored_images_are_served(client, upload_dir, name):
    assert_error_shape(client.get(f"/uploads/{name}"), 404)
