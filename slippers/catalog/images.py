"""Judging uploaded images by their content, and re-encoding them clean.

The client's file name and MIME type are ignored. Pillow decides what the bytes are;
only JPEG, PNG and WebP pass. The pixel count is checked from the header before any
pixel is decoded (decompression bombs), then the image is decoded fully (truncated or
corrupt files fail here), turned upright by its EXIF orientation and written anew
without metadata.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from slippers.errors import PayloadTooLarge, Unprocessable

MAX_PIXELS = 40_000_000
FORMATS = {
    # Pillow format: (extension, content type, save options)
    "JPEG": (".jpg", "image/jpeg", {"quality": 88, "optimize": True}),
    "PNG": (".png", "image/png", {"optimize": False}),
    "WEBP": (".webp", "image/webp", {"quality": 88}),
}
MODES = {"JPEG": {"RGB", "L"}, "PNG": {"RGB", "RGBA", "L", "LA", "P"}, "WEBP": {"RGB", "RGBA"}}


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    extension: str
    content_type: str
    width: int
    height: int


def read_limited(stream, max_bytes: int, label: str) -> bytes:
    """Read at most `max_bytes`; one byte more means the file is too big (413)."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"{label} is larger than {max_bytes // (1024 * 1024)} MB",
            errors={"images": [f"{label}: larger than {max_bytes} bytes"]},
        )
    return data


def clean_image(data: bytes, label: str) -> CleanImage:
    """Decode, check and re-encode one upload, or raise Unprocessable naming `label`."""
    if not data:
        raise _refused(label, "empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _reencode(data, label)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refused(label, "too many pixels (decompression bomb)") from exc
    except UnidentifiedImageError as exc:
        raise _refused(label, "not a JPEG, PNG or WebP image") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise _refused(label, "corrupt or truncated image") from exc


def _reencode(data: bytes, label: str) -> CleanImage:
    with Image.open(io.BytesIO(data), formats=list(FORMATS)) as img:
        fmt = img.format
        if fmt not in FORMATS:
            raise _refused(label, "not a JPEG, PNG or WebP image")
        width, height = img.size
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise _refused(label, f"{width}x{height} is more than {MAX_PIXELS} pixels")
        img.load()
        upright = ImageOps.exif_transpose(img)
    upright = _save_mode(upright, fmt)
    upright.info = {}
    extension, content_type, options = FORMATS[fmt]
    out = io.BytesIO()
    upright.save(out, format=fmt, **options)
    return CleanImage(out.getvalue(), extension, content_type, upright.width, upright.height)


def _save_mode(img: Image.Image, fmt: str) -> Image.Image:
    if img.mode == "P" and "transparency" in img.info:
        return img.convert("RGBA")
    if img.mode in MODES[fmt]:
        return img
    has_alpha = "A" in img.getbands() or "transparency" in img.info
    if fmt == "JPEG":
        return img.convert("RGB")
    return img.convert("RGBA" if has_alpha else "RGB")


def _refused(label: str, reason: str) -> Unprocessable:
    return Unprocessable(
        f"{label} was refused: {reason}", errors={"images": [f"{label}: {reason}"]}
    )
