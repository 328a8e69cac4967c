"""A small shop with one of everything, built through the API, for whole-API tests.

`build_world(client, sim)` makes: an admin, a shopper and a third user who owns nothing;
a category in use and an empty one; a slipper with plenty of stock and an image; a pending
order; a paid order with its PAID payment (through the OCTO sandbox); the shopper's cart
line, and a victim user for the /users/{id} routes. The fuzz and permission tests give these
ids to the routes so that requests reach the rules, not only 404s.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image

from slippers.auth.models import User
from slippers.auth.passwords import hash_password
from slippers.catalog.models import Category, Slipper
from slippers.extensions import db
from tests.conftest import TEST_PASSWORD, bearer, login_tokens
from tests.octo_sim_server import SimServer
from tests.payments.helpers import notify, signed_callback

UNIQUE_KEY = "sim-unique-key"


def octo_settings(sim: SimServer) -> dict:
    """App settings that point the OCTO client at the sandbox, with short timeouts."""
    return {
        "OCTO_API_BASE": sim.base_url,
        "OCTO_SHOP_ID": 1,
        "OCTO_SECRET": "sim-secret",
        "OCTO_UNIQUE_KEY": UNIQUE_KEY,
        "OCTO_ALLOW_UNSIGNED_CALLBACKS": False,
        "OCTO_TIMEOUT_SEC": 2.0,
        "OCTO_CONNECT_TIMEOUT_SEC": 1.0,
        "OCTO_RETRIES": 0,
        "OCTO_AUTO_CAPTURE": True,
        "OCTO_EXTRA_PARAMS": {},
        "OCTO_NOTIFY_URL": "http://127.0.0.1:9/payments/octo/notify",
        "OCTO_RETURN_URL": "http://shop.test/orders/{order_id}",
        "OCTO_USD_UZS_RATE": "",
        "OCTO_MAX_REFUND_UZS": "10000000",
    }


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Account:
    user_id: int
    username: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict:
        return bearer(self.access_token)

    @property
    def refresh_headers(self) -> dict:
        return bearer(self.refresh_token)


@dataclass
class World:
    admin: Account
    user: Account
    other: Account
    victim_id: int
    category_id: int
    empty_category_id: int
    slipper_id: int
    image_id: int
    image_filename: str
    cart_item_id: int
    pending_order_id: int
    paid_order_id: int
    payment_id: int
    payment_uuid: str

    def account(self, role: str) -> Account | None:
        return {"admin": self.admin, "user": self.user, "other": self.other}.get(role)


def _account(client, username: str, *, admin: bool = False) -> Account:
    user = User(
        username=username,
        username_key=username.lower(),
        password_hash=hash_password(TEST_PASSWORD),
        is_admin=admin,
        is_active=True,
    )
    db.session.add(user)
    db.session.commit()
    tokens = login_tokens(client, username)
    return Account(user.id, username, tokens["access_token"], tokens["refresh_token"])


def _ok(response, status: int) -> dict | list:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def build_world(client, sim: SimServer, owner: str = "user") -> World:
    """Everything the whole-API tests need; `owner` ("user" or "admin") owns the cart,
    the orders and the payment (so an admin run reaches the owner-only rules too)."""
    admin = _account(client, "world_admin", admin=True)
    user = _account(client, "world_user")
    other = _account(client, "world_other")
    victim = _account(client, "world_victim")
    buyer = admin if owner == "admin" else user

    category = Category(name="World slippers", name_key="world slippers", is_active=True)
    empty = Category(name="World empty", name_key="world empty", is_active=True)
    db.session.add_all([category, empty])
    db.session.commit()
    slipper = Slipper(
        name="World slipper",
        size="42",
        price=Decimal("1000.00"),
        quantity=100_000,
        category_id=category.id,
        description="Warm",
    )
    db.session.add(slipper)
    db.session.commit()

    images = _ok(
        client.post(
            f"/slippers/{slipper.id}/upload-images",
            data={"images": [(io.BytesIO(png_bytes()), "a.png")]},
            headers=admin.headers,
            content_type="multipart/form-data",
        ),
        201,
    )
    image = images[0]
    line = {"items": [{"slipper_id": slipper.id, "quantity": 1}]}
    pending = _ok(client.post("/orders/", json=line, headers=buyer.headers), 201)
    paid_order = _ok(client.post("/orders/", json=line, headers=buyer.headers), 201)
    created = _ok(
        client.post(
            "/payments/octo/create", json={"orderId": paid_order["id"]}, headers=buyer.headers
        ),
        201,
    )
    _pay(client, sim, created["octo_payment_UUID"])
    # After the payment: a paid order empties its buyer's cart.
    cart = _ok(
        client.post(
            "/cart/items", json={"slipper_id": slipper.id, "quantity": 1}, headers=buyer.headers
        ),
        201,
    )
    return World(
        admin=admin,
        user=user,
        other=other,
        victim_id=victim.user_id,
        category_id=category.id,
        empty_category_id=empty.id,
        slipper_id=slipper.id,
        image_id=image["id"],
        image_filename=image["url"].rsplit("/", 1)[-1],
        cart_item_id=cart["items"][0]["id"],
        pending_order_id=pending["id"],
        paid_order_id=paid_order["id"],
        payment_id=created["payment_id"],
        payment_uuid=created["octo_payment_UUID"],
    )


def _pay(client, sim: SimServer, payment_uuid: str) -> None:
    """OCTO says the payment succeeded; the signed callback makes it PAID here."""
    sim.set_status(payment_uuid, "succeeded")
    answer = notify(client, signed_callback(sim, payment_uuid, "succeeded"))
    assert answer.status_code == 200, answer.get_data(as_text=True)


@dataclass
class OctoSnapshot:
    """What a request may change at the sandbox about the world's payment (a refund, a
    status): put back after each generated request, as the database is."""

    sim: SimServer
    uuid: str
    status: str
    refunded_sum: Decimal

    def restore(self) -> None:
        state = self.sim.state
        with state.lock:
            payment = state.get_payment(self.uuid)
            payment.status = self.status
            payment.refunded_sum = self.refunded_sum


def octo_snapshot(sim: SimServer, world: World) -> OctoSnapshot:
    payment = sim.state.get_payment(world.payment_uuid)
    return OctoSnapshot(sim, world.payment_uuid, payment.status, payment.refunded_sum)
