"""`flask seed`: a demo catalog with images, and a second run adds nothing."""

from __future__ import annotations

import io
from decimal import Decimal

from PIL import Image
from sqlalchemy import func, select

from slippers.catalog.models import Category, Slipper, SlipperImage
from slippers.catalog.seed import CATEGORIES, MODELS, SIZES_PER_MODEL
from slippers.extensions import db
from tests.catalog.conftest import stored_files


def _counts():
    def count(model):
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()

    return count(Category), count(Slipper), count(SlipperImage)


def test_seed_builds_a_browsable_catalog_once(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    expected = (len(CATEGORIES), len(MODELS) * SIZES_PER_MODEL, len(MODELS) * SIZES_PER_MODEL)
    assert _counts() == expected
    assert "6 new categories, 36 new slippers" in first.output
    assert len(stored_files(app)) == expected[2]

    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0, second.output
    assert "0 new categories, 0 new slippers" in second.output
    assert _counts() == expected
    assert len(stored_files(app)) == expected[2]

    page = client.get("/slippers/?page_size=100&include_images=true").get_json()
    assert page["total"] == 36
    sizes = {item["size"] for item in page["items"]}
    assert sizes <= {str(n) for n in range(36, 47)}
    for item in page["items"]:
        assert Decimal("89000.00") <= Decimal(item["price"]) <= Decimal("450000.00")
        assert item["category_name"] in CATEGORIES
        assert item["primary_image_url"] == item["images"][0]["url"]
    image = client.get(page["items"][0]["primary_image_url"])
    assert image.headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(image.get_data())) as img:
        assert img.format == "PNG" and img.size == (640, 480)
    image.close()
    assert [c["name"] for c in client.get("/categories/").get_json()] == sorted(
        CATEGORIES, key=str.lower
    )
