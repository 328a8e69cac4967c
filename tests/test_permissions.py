"""Who may call what: every operation of the OpenAPI spec, as four callers, from one table.

The callers: `anonymous` (no token), `user` (owns the world's cart line, orders and payment),
`other` (a signed-in user who owns nothing of it) and `admin`. Each request carries a valid
body, so the answer is decided by who asks, not by validation. Another user's private row
is a 404 (ids cannot be probed); an admin-only route is 401 anonymous, 403 for users.

An operation in the spec without a row here fails `test_every_operation_has_a_row`: a new
route must say who may call it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import TEST_PASSWORD
from tests.fuzz import fixtures
from tests.fuzz.realistic import path_ids
from tests.fuzz.world import World, build_world, png_bytes
from tests.payments.helpers import signed_callback

world_sim, octo = fixtures.world_sim, fixtures.octo  # the OCTO sandbox fixtures

ANON, USER, OTHER, ADMIN = "anonymous", "user", "other", "admin"
ROLES = (ANON, USER, OTHER, ADMIN)


@dataclass
class Context:
    app: Any
    client: Any
    world: World
    sim: Any


@dataclass(frozen=True)
class Rule:
    """Expected status per caller, a valid body, and what must exist before the request."""

    expect: dict[str, int]
    json: Callable[[Context], Any] | None = None
    files: bool = False  # multipart upload of one real PNG under `images`
    token: str = "access"  # "refresh" for /auth/refresh
    setup: Callable[[Context, str], None] | None = None


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int) -> dict[str, int]:
    return {ANON: 401, USER: status, OTHER: status, ADMIN: status}


def admin_only(status: int) -> dict[str, int]:
    return {ANON: 401, USER: 403, OTHER: 403, ADMIN: status}


def owner_or_admin(status: int) -> dict[str, int]:
    return {ANON: 401, USER: status, OTHER: 404, ADMIN: status}


def owner_only(status: int) -> dict[str, int]:
    """The caller's own rows only: an admin is just another user here (cart, paying)."""
    return {ANON: 401, USER: status, OTHER: 404, ADMIN: 404}


def _reset_code_body(ctx: Context) -> dict:
    """A real reset code for the world's user, caught from the notifier."""
    codes: list[str] = []
    extensions = ctx.app.extensions
    notifier = extensions["password_reset_notifier"]
    extensions["password_reset_notifier"] = lambda _user, code: codes.append(code)
    try:
        answer = ctx.client.post("/auth/forgot-password", json={"username": "world_user"})
        assert answer.status_code == 202
    finally:
        extensions["password_reset_notifier"] = notifier
    return {"username": "world_user", "code": codes[0], "new_password": "Fresh-Start-Pass-9"}


def _own_cart_line(ctx: Context, role: str) -> None:
    """Every signed-in caller has a cart line of their own to order."""
    account = ctx.world.account(role)
    if account is None or role == USER:  # the world's user has one already
        return
    answer = ctx.client.post(
        "/cart/items",
        json={"slipper_id": ctx.world.slipper_id, "quantity": 1},
        headers=account.headers,
    )
    assert answer.status_code == 201, answer.get_json()


def _slipper(ctx: Context) -> dict:
    return {
        "name": "Table slipper",
        "size": "40",
        "price": "10.00",
        "quantity": 3,
        "category_id": ctx.world.category_id,
    }


def _one_line(ctx: Context) -> dict:
    return {"items": [{"slipper_id": ctx.world.slipper_id, "quantity": 1}]}


TABLE: dict[tuple[str, str], Rule] = {
    # Service probes
    ("GET", "/health"): Rule(everyone(200)),
    ("GET", "/health/ready"): Rule(everyone(200)),
    # Accounts
    ("POST", "/auth/register"): Rule(
        everyone(201), json=lambda c: {"username": "newcomer", "password": "Brand-New-Pass-42"}
    ),
    ("POST", "/auth/login"): Rule(
        everyone(200), json=lambda c: {"username": "world_user", "password": TEST_PASSWORD}
    ),
    ("POST", "/auth/refresh"): Rule(signed_in(200), token="refresh"),
    ("POST", "/auth/logout"): Rule(signed_in(200)),
    ("GET", "/auth/me"): Rule(signed_in(200)),
    ("POST", "/auth/reset-password"): Rule(
        signed_in(200),
        json=lambda c: {"current_password": TEST_PASSWORD, "new_password": "Another-Pass-77"},
    ),
    ("POST", "/auth/forgot-password"): Rule(everyone(202), json=lambda c: {"username": "nobody"}),
    ("POST", "/auth/reset-password/confirm"): Rule(everyone(200), json=_reset_code_body),
    # User administration (the world's victim user)
    ("GET", "/users/"): Rule(admin_only(200)),
    ("GET", "/users/{user_id}"): Rule(admin_only(200)),
    ("PATCH", "/users/{user_id}"): Rule(admin_only(200), json=lambda c: {"name": "Renamed"}),
    ("DELETE", "/users/{user_id}"): Rule(admin_only(204)),
    # Catalog (category: the empty one, which may be deleted)
    ("GET", "/categories/"): Rule(everyone(200)),
    ("POST", "/categories/"): Rule(admin_only(201), json=lambda c: {"name": "Brand new"}),
    ("GET", "/categories/{category_id}"): Rule(everyone(200)),
    ("PUT", "/categories/{category_id}"): Rule(admin_only(200), json=lambda c: {"name": "Renamed"}),
    ("PATCH", "/categories/{category_id}"): Rule(
        admin_only(200), json=lambda c: {"description": "Soft"}
    ),
    ("DELETE", "/categories/{category_id}"): Rule(admin_only(204)),
    ("GET", "/slippers/"): Rule(everyone(200)),
    ("POST", "/slippers/"): Rule(admin_only(201), json=_slipper),
    ("GET", "/slippers/{slipper_id}"): Rule(everyone(200)),
    ("PUT", "/slippers/{slipper_id}"): Rule(admin_only(200), json=_slipper),
    ("PATCH", "/slippers/{slipper_id}"): Rule(admin_only(200), json=lambda c: {"price": "12.50"}),
    ("DELETE", "/slippers/{slipper_id}"): Rule(admin_only(204)),
    ("POST", "/slippers/{slipper_id}/upload-images"): Rule(admin_only(201), files=True),
    ("GET", "/slippers/{slipper_id}/images"): Rule(everyone(200)),
    ("DELETE", "/slippers/{slipper_id}/images/{image_id}"): Rule(admin_only(204)),
    ("GET", "/uploads/{filename}"): Rule(everyone(200)),
    # Cart: always the caller's own (the item is the world user's line)
    ("GET", "/cart/"): Rule(signed_in(200)),
    ("DELETE", "/cart/"): Rule(signed_in(200)),
    ("POST", "/cart/items"): Rule(
        signed_in(201), json=lambda c: {"slipper_id": c.world.slipper_id, "quantity": 1}
    ),
    ("PATCH", "/cart/items/{item_id}"): Rule(owner_only(200), json=lambda c: {"quantity": 2}),
    ("DELETE", "/cart/items/{item_id}"): Rule(owner_only(200)),
    # Orders (the order: the world user's pending one)
    ("GET", "/orders/"): Rule(signed_in(200)),
    ("POST", "/orders/"): Rule(signed_in(201), json=_one_line),
    ("POST", "/orders/from-cart"): Rule(signed_in(201), json=lambda c: {}, setup=_own_cart_line),
    ("GET", "/orders/{order_id}"): Rule(owner_or_admin(200)),
    ("PUT", "/orders/{order_id}"): Rule(owner_or_admin(200), json=lambda c: {"notes": "Porch"}),
    ("PATCH", "/orders/{order_id}"): Rule(owner_or_admin(200), json=lambda c: {"notes": "Porch"}),
    ("DELETE", "/orders/{order_id}"): Rule(owner_or_admin(204)),
    # Payments (the payment: the world user's PAID one)
    ("POST", "/payments/octo/create"): Rule(
        owner_only(201), json=lambda c: {"orderId": c.world.pending_order_id}
    ),
    ("POST", "/payments/octo/notify"): Rule(
        everyone(200), json=lambda c: signed_callback(c.sim, c.world.payment_uuid, "succeeded")
    ),
    ("POST", "/payments/octo/refund"): Rule(
        admin_only(200), json=lambda c: {"octo_payment_UUID": c.world.payment_uuid}
    ),
    ("GET", "/payments/"): Rule(admin_only(200)),
    ("GET", "/payments/{payment_id}"): Rule(owner_or_admin(200)),
}


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").get_json()


def spec_operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "put", "post", "patch", "delete"}
    }


def test_every_operation_has_a_row(spec):
    """A route in the spec without a row here (or a row for a route gone) fails."""
    in_spec = spec_operations(spec)
    assert sorted(in_spec - set(TABLE)) == [], "operations without a row in TABLE"
    assert sorted(set(TABLE) - in_spec) == [], "rows for operations not in the spec"


def test_the_spec_documents_every_refusal_in_the_table(spec):
    """Every non-2xx status of the table is documented on its operation, and every
    operation refusing anonymous callers declares its security requirement."""
    for (method, path), rule in TABLE.items():
        operation = spec["paths"][path][method.lower()]
        for role, status in rule.expect.items():
            if status >= 400:
                assert str(status) in operation["responses"], (method, path, role, status)
        security = operation.get("security") or []
        login_required = bool(security) and {} not in security
        assert login_required == (rule.expect[ANON] == 401), (method, path, security)


def _send(ctx: Context, method: str, path: str, rule: Rule, role: str):
    url = path.format(**path_ids(ctx.world, 0))
    headers = {}
    account = ctx.world.account(role)
    if account is not None:
        headers = account.refresh_headers if rule.token == "refresh" else account.headers
    kwargs: dict[str, Any] = {"headers": headers}
    if rule.json is not None:
        kwargs["json"] = rule.json(ctx)
    if rule.files:
        kwargs["data"] = {"images": [(io.BytesIO(png_bytes()), "new.png")]}
        kwargs["content_type"] = "multipart/form-data"
    return ctx.client.open(url, method=method, **kwargs)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path"), sorted(TABLE), ids=[f"{m} {p}" for m, p in sorted(TABLE)]
)
def test_permission_matrix(app, client, octo, method, path, role):
    world = build_world(client, octo, owner="user")
    ctx = Context(app=app, client=client, world=world, sim=octo)
    rule = TABLE[(method, path)]
    if rule.setup is not None:
        rule.setup(ctx, role)
    answer = _send(ctx, method, path, rule, role)
    answer.get_data()
    answer.close()  # a served image file is a stream
    expected = rule.expect[role]
    assert answer.status_code == expected, (
        f"{method} {path} as {role}: {answer.status_code}, expected {expected}: "
        f"{answer.get_data(as_text=True)[:300]}"
    )
    if expected >= 400:
        body = answer.get_json()
        assert body["code"] == expected and body["message"], body
