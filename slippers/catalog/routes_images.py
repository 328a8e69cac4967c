"""Slipper images (upload, list, delete) and serving the stored files."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from slippers.auth.access import admin_required
from slippers.catalog import image_service as service
from slippers.catalog import reads, storage
from slippers.catalog.schemas import MAX_DB_ID, ImageUploadSchema, SlipperImageSchema
from slippers.extensions import limiter

blp = Blueprint("slipper_images", __name__, url_prefix="/slippers", description="Slipper images")
uploads_blp = Blueprint(
    "uploads", __name__, url_prefix="/uploads", description="Stored image files"
)
# Image files are static content a catalog page loads many of at once: they are not
# counted against the per-IP API budget (like /static).
limiter.exempt(uploads_blp)


@blp.route(f"/<int(max={MAX_DB_ID}):slipper_id>/upload-images")
class UploadImages(MethodView):
    @admin_required(blp)
    @blp.arguments(ImageUploadSchema, location="files")
    @blp.response(201, SlipperImageSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(
        413,
        response="REQUEST_ENTITY_TOO_LARGE",
        description="A file (or the whole request) is too large",
    )
    def post(self, files, slipper_id):
        """Upload 1-10 JPEG/PNG/WebP images (field `images`, repeatable).

        Judged by decoding the content, re-encoded without metadata, stored under random
        names. At most MAX_IMAGES_PER_SLIPPER per slipper; the first becomes primary.
        """
        return service.add_images(slipper_id, files["images"])


@blp.route(f"/<int(max={MAX_DB_ID}):slipper_id>/images")
class Images(MethodView):
    @blp.response(200, SlipperImageSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, slipper_id):
        """The slipper's images in order."""
        return reads.slipper_images(slipper_id)


@blp.route(f"/<int(max={MAX_DB_ID}):slipper_id>/images/<int(max={MAX_DB_ID}):image_id>")
class ImageById(MethodView):
    @admin_required(blp)
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, slipper_id, image_id):
        """Delete the image row and its file; another image becomes primary if needed."""
        service.delete_image(slipper_id, image_id)


@uploads_blp.route("/<string:filename>")
class UploadedFile(MethodView):
    @uploads_blp.response(
        200,
        description="The image (image/jpeg, image/png or image/webp), cacheable for a year",
        content_type="image/*",
    )
    @uploads_blp.alt_response(404, response="NOT_FOUND")
    def get(self, filename):
        """An uploaded image file."""
        return storage.send_upload(filename)
