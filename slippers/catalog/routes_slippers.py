"""Slipper routes: public reads (cached, with ETags), admin writes."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from slippers.auth.access import admin_required
from slippers.catalog import reads
from slippers.catalog import slipper_service as service
from slippers.catalog.cache import answer_from_raw_query
from slippers.catalog.schemas import (
    MAX_DB_ID,
    SlipperCreateSchema,
    SlipperPageSchema,
    SlipperQueryArgsSchema,
    SlipperSchema,
    SlipperUpdateSchema,
)

blp = Blueprint("slippers", __name__, url_prefix="/slippers", description="Slippers")

NOT_MODIFIED = "Not modified (If-None-Match matched the ETag)"


@blp.route("/")
class Slippers(MethodView):
    @answer_from_raw_query("slippers")
    @blp.arguments(SlipperQueryArgsSchema(), location="query")
    @blp.response(200, SlipperPageSchema)
    @blp.alt_response(304, description=NOT_MODIFIED)
    def get(self, args):
        """Search, filter, sort and page the catalog (cached, with an ETag)."""
        return reads.slipper_list(args)

    @admin_required(blp)
    @blp.arguments(SlipperCreateSchema)
    @blp.response(201, SlipperSchema)
    def post(self, data):
        """Add a slipper; an unknown category_id is 422."""
        return service.create_slipper(data)


@blp.route(f"/<int(max={MAX_DB_ID}):slipper_id>")
class SlipperById(MethodView):
    @blp.response(200, SlipperSchema)
    @blp.alt_response(304, description=NOT_MODIFIED)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, slipper_id):
        """One slipper with its images in order (cached; ETag / If-None-Match → 304)."""
        return reads.slipper_detail(slipper_id)

    @admin_required(blp)
    @blp.arguments(SlipperCreateSchema)
    @blp.response(200, SlipperSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def put(self, data, slipper_id):
        """Replace a slipper's fields; orders keep the price they were placed at."""
        return service.update_slipper(slipper_id, data, replace=True)

    @admin_required(blp)
    @blp.arguments(SlipperUpdateSchema, required=False)
    @blp.response(200, SlipperSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, changes, slipper_id):
        """Change some fields; orders keep the price they were placed at."""
        return service.update_slipper(slipper_id, changes)

    @admin_required(blp)
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, slipper_id):
        """Remove from the catalog (soft delete); order lines keep their snapshot."""
        service.delete_slipper(slipper_id)
