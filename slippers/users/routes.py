"""Admin routes over users."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from slippers.auth.access import admin_required, current_user
from slippers.auth.schemas import UserSchema
from slippers.users import service
from slippers.users.schemas import (
    MAX_DB_ID,
    UserPageSchema,
    UserQueryArgsSchema,
    UserUpdateSchema,
)

blp = Blueprint("users", __name__, url_prefix="/users", description="User administration")


@blp.route("/")
class Users(MethodView):
    @admin_required(blp)
    @blp.arguments(UserQueryArgsSchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """List users; `q` searches username, name, surname, phone and e-mail."""
        return service.list_users(args["q"], args["page"], args["page_size"])


@blp.route(f"/<int(max={MAX_DB_ID}):user_id>")
class UserById(MethodView):
    @admin_required(blp)
    @blp.response(200, UserSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, user_id):
        """One user."""
        return service.get_user(user_id)

    @admin_required(blp)
    @blp.arguments(UserUpdateSchema, required=False)
    @blp.response(200, UserSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, changes, user_id):
        """Change profile fields, admin flag or active flag."""
        return service.update_user(current_user(), user_id, changes)

    @admin_required(blp)
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, user_id):
        """Deactivate and anonymise a user; their orders and payments stay."""
        service.delete_user(current_user(), user_id)
