"""Category routes: public reads (cached list), admin writes."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import verify_jwt_in_request
from flask_smorest import Blueprint

from slippers.auth.access import SECURITY, admin_required, current_user
from slippers.catalog import category_service as service
from slippers.catalog import reads
from slippers.catalog.schemas import (
    MAX_DB_ID,
    CategoryCreateSchema,
    CategoryQueryArgsSchema,
    CategorySchema,
    CategoryUpdateSchema,
)
from slippers.errors import Forbidden

blp = Blueprint("categories", __name__, url_prefix="/categories", description="Categories")


def _require_admin() -> None:
    verify_jwt_in_request()
    if not current_user().is_admin:
        raise Forbidden("Only administrators may list inactive categories")


@blp.route("/")
class Categories(MethodView):
    @blp.arguments(CategoryQueryArgsSchema(), location="query")
    @blp.response(200, CategorySchema(many=True))
    @blp.alt_response(304, description="Not modified (If-None-Match matched the ETag)")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.doc(security=[{}, *SECURITY])
    def get(self, args):
        """Active categories by name, as a plain array (cached, with an ETag).

        `include_inactive=true` is for admins only: anonymous callers get 401, other
        users 403 (never a silently different answer).
        """
        if args["include_inactive"]:
            _require_admin()
        return reads.category_list(args["include_inactive"])

    @admin_required(blp)
    @blp.arguments(CategoryCreateSchema)
    @blp.response(201, CategorySchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Create a category; names are unique ignoring case."""
        return service.create_category(data)


@blp.route(f"/<int(max={MAX_DB_ID}):category_id>")
class CategoryById(MethodView):
    @blp.response(200, CategorySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, category_id):
        """One category, active or not."""
        return service.get_category(category_id)

    @admin_required(blp)
    @blp.arguments(CategoryCreateSchema)
    @blp.response(200, CategorySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def put(self, data, category_id):
        """Replace a category (omitted description/is_active go back to null/true)."""
        return service.update_category(category_id, data, replace=True)

    @admin_required(blp)
    @blp.arguments(CategoryUpdateSchema, required=False)
    @blp.response(200, CategorySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, changes, category_id):
        """Change some fields of a category."""
        return service.update_category(category_id, changes)

    @admin_required(blp)
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, category_id):
        """Delete a category no live slipper uses (else 409; never cascades)."""
        service.delete_category(category_id)
