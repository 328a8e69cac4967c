"""Demo catalog for `flask seed`: categories, slippers and drawn images; idempotent.

Categories are matched on their name key, slippers on (name, size) among live slippers:
a second run finds everything and adds nothing.
"""

from __future__ import annotations

import io
import random
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from slippers.catalog import storage
from slippers.catalog.cache import invalidate_catalog
from slippers.catalog.category_service import name_key
from slippers.catalog.models import Category, Slipper, SlipperImage
from slippers.db_types import utcnow
from slippers.extensions import db

CATEGORIES = {
    "Uy shippaklari": "House slippers: soft, warm, for every day at home.",
    "Plyaj shippaklari": "Beach and pool flip-flops and slides.",
    "Bolalar uchun": "Kids' slippers in bright colours.",
    "Qishki": "Winter slippers lined with wool and felt.",
    "Mehmonxona": "Light hotel and guest slippers.",
    "Milliy naqshli": "Slippers with Uzbek ikat and suzani patterns.",
}

# (name, category, description, base price in UZS, colour)
MODELS = [
    ("Samarkand Velvet", "Uy shippaklari", "Velvet upper, memory foam insole.", 189000, "#7b2d43"),
    ("Tashkent Comfort", "Uy shippaklari", "Cotton terry, washable.", 129000, "#4a6fa5"),
    ("Fergana Felt", "Qishki", "Hand-felted wool from the Fergana valley.", 259000, "#8d6e63"),
    ("Chilla Warm Boot", "Qishki", "High-cut slipper boot, sheepskin lining.", 439000, "#5d4037"),
    ("Aral Slide", "Plyaj shippaklari", "Quick-dry EVA slide.", 89000, "#00897b"),
    ("Chorvoq Flip-Flop", "Plyaj shippaklari", "Rubber flip-flop for the lake.", 95000, "#f9a825"),
    ("Bolajon Bunny", "Bolalar uchun", "Plush bunny slippers with ears.", 119000, "#f06292"),
    ("Kichkina Dino", "Bolalar uchun", "Green dinosaur slippers, grippy sole.", 125000, "#66bb6a"),
    ("Mehmon Classic", "Mehmonxona", "Light waffle slipper for guests.", 99000, "#eceff1"),
    ("Registon Suite", "Mehmonxona", "Closed-toe hotel slipper, embroidered.", 149000, "#b0bec5"),
    ("Ikat Atlas", "Milliy naqshli", "Silk atlas upper with ikat pattern.", 329000, "#6a1b9a"),
    ("Suzani Bloom", "Milliy naqshli", "Suzani embroidery, leather sole.", 379000, "#c62828"),
]
SIZES = ("36", "38", "40", "42", "44", "46")
SIZES_PER_MODEL = 3


def seed_catalog() -> str:
    """Create what is missing; return a one-line summary."""
    rng = random.Random(2024)  # same demo data on every machine
    categories, new_categories = _ensure_categories()
    existing = {
        (row.name, row.size)
        for row in db.session.execute(
            select(Slipper.name, Slipper.size).where(Slipper.deleted_at.is_(None))
        )
    }
    written: list[str] = []
    new_slippers = 0
    try:
        for model_index, (name, category, description, price, colour) in enumerate(MODELS):
            sizes = SIZES[model_index % 2 :: 2][:SIZES_PER_MODEL]
            for size in sizes:
                if (name, size) in existing:
                    continue
                slipper = _new_slipper(name, size, category, description, price, rng, categories)
                db.session.add(slipper)
                db.session.flush()
                written.append(_add_image(slipper, colour))
                new_slippers += 1
        db.session.commit()
    except BaseException:
        db.session.rollback()
        storage.remove_files(written)
        raise
    if new_categories or new_slippers:
        invalidate_catalog()
    total = len(MODELS) * SIZES_PER_MODEL
    return (
        f"Catalog seed: {new_categories} new categories, {new_slippers} new slippers "
        f"({len(CATEGORIES) - new_categories} categories and {total - new_slippers} slippers "
        "were already there)."
    )


def _ensure_categories() -> tuple[dict[str, Category], int]:
    keys = {name_key(name): name for name in CATEGORIES}
    found = {
        category.name_key: category
        for category in db.session.execute(
            select(Category).where(Category.name_key.in_(keys))
        ).scalars()
    }
    created = 0
    for key, name in keys.items():
        if key not in found:
            found[key] = Category(name=name, name_key=key, description=CATEGORIES[name])
            db.session.add(found[key])
            created += 1
    db.session.flush()
    return {name: found[key] for key, name in keys.items()}, created


def _new_slipper(name, size, category, description, price, rng, categories) -> Slipper:
    step = Decimal(rng.choice((0, 5000, 10000)))
    return Slipper(
        name=name,
        size=size,
        description=description,
        price=(Decimal(price) + step).quantize(Decimal("0.01")),
        quantity=rng.choice((0, 3, 8, 12, 25, 40)),
        category_id=categories[category].id,
    )


def _add_image(slipper: Slipper, colour: str) -> str:
    data = draw_slipper(f"{slipper.name} · {slipper.size}", colour)
    filename = storage.new_filename(".png")
    storage.save_files([(filename, data)])
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
    db.session.add(
        SlipperImage(
            slipper_id=slipper.id,
            filename=filename,
            content_type="image/png",
            width=width,
            height=height,
            size_bytes=len(data),
            order_index=0,
            is_primary=True,
            created_at=utcnow(),
        )
    )
    return filename


def draw_slipper(label: str, colour: str, size: tuple[int, int] = (640, 480)) -> bytes:
    """A PNG of a slipper seen from above (sole, upper, strap) with a caption."""
    width, height = size
    img = Image.new("RGB", size, "#faf7f2")
    draw = ImageDraw.Draw(img)
    cx, cy = width // 2, height // 2 - 20
    for inset, fill in ((0, "#3e2723"), (10, "#d7ccc8")):  # sole: outline, then footbed
        draw.ellipse((cx - 240 + inset, cy - 70 + inset, cx - 20 - inset, cy + 70 - inset), fill)
        draw.ellipse((cx - 80 + inset, cy - 95 + inset, cx + 240 - inset, cy + 95 - inset), fill)
        draw.rectangle((cx - 130, cy - 70 + inset, cx - 30, cy + 70 - inset), fill)
    draw.chord((cx - 200, cy - 100, cx + 245, cy + 100), 270, 90, fill=colour)  # the upper
    for offset in range(-75, 80, 25):  # stitching along the opening
        draw.ellipse((cx + 32, cy + offset - 4, cx + 40, cy + offset + 4), fill="#ffffff")
    font = ImageFont.load_default(size=30)
    box = draw.textbbox((0, 0), label, font=font)
    draw.text(((width - (box[2] - box[0])) // 2, height - 70), label, fill="#212121", font=font)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
