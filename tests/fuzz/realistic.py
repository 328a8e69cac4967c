"""Real ids and credentials for generated requests, so they reach the rules, not only 404s.

`realistic(case, world, actor)` changes a generated request in place to point at the rows of
the fuzz world (the slipper, the pending order, the PAID payment, ...). Only parts that were
generated as *valid* are changed: a negative path or body stays exactly as generated, so
schemathesis still knows which requests must be refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from schemathesis.core.parameters import ParameterLocation

from tests.conftest import TEST_PASSWORD
from tests.fuzz.world import UNIQUE_KEY, Account, World


def _positive(case, location: ParameterLocation) -> bool:
    meta = case.meta
    return meta is None or not meta.is_negative_at(location)


def path_ids(world: World, variant: int) -> dict[str, Any]:
    """Path parameters of the world's rows; `variant` 1 picks the second order where there is
    one (the paid, confirmed order instead of the pending one)."""
    return {
        "user_id": world.victim_id,
        "category_id": world.empty_category_id if variant == 0 else world.category_id,
        "slipper_id": world.slipper_id,
        "image_id": world.image_id,
        "filename": world.image_filename,
        "item_id": world.cart_item_id,
        "order_id": world.pending_order_id if variant == 0 else world.paid_order_id,
        "payment_id": world.payment_id,
    }


def _sign(uuid: str, status: str) -> str:
    """OCTO's callback signature: SHA1(unique_key + uuid + status)."""
    return hashlib.sha1(f"{UNIQUE_KEY}{uuid}{status}".encode()).hexdigest()


def _body(case, world: World, actor: Account) -> None:
    body = case.body
    if not isinstance(body, dict) or not _positive(case, ParameterLocation.BODY):
        return
    label = f"{case.method.upper()} {case.operation.path}"
    if "slipper_id" in body and isinstance(body["slipper_id"], int):
        body["slipper_id"] = world.slipper_id
    if isinstance(body.get("items"), list):
        for line in body["items"]:
            if isinstance(line, dict) and isinstance(line.get("slipper_id"), int):
                line["slipper_id"] = world.slipper_id
    if isinstance(body.get("category_id"), int):
        body["category_id"] = world.category_id
    if label == "POST /orders/" and isinstance(body.get("user_id"), int):
        body["user_id"] = actor.user_id
    for key in ("orderId", "order_id"):
        if label == "POST /payments/octo/create" and isinstance(body.get(key), int):
            body[key] = world.pending_order_id
    if label == "POST /payments/octo/refund":
        body["octo_payment_UUID"] = world.payment_uuid
    if label in {"POST /auth/login", "POST /auth/forgot-password"}:
        body["username"] = actor.username
    if label == "POST /auth/login":
        body["password"] = TEST_PASSWORD
    if label == "POST /auth/reset-password":
        body["current_password"] = TEST_PASSWORD
    if label == "POST /payments/octo/notify":
        status = body.get("status") if isinstance(body.get("status"), str) else "succeeded"
        body.update(
            octo_payment_UUID=world.payment_uuid,
            status=status,
            signature=_sign(world.payment_uuid, status),
        )


def _query(case, world: World, actor: Account) -> None:
    query = case.query
    if not isinstance(query, dict) or not _positive(case, ParameterLocation.QUERY):
        return
    path = case.operation.path
    if path == "/orders/" and isinstance(query.get("user_id"), int):
        query["user_id"] = actor.user_id
    if path == "/payments/" and isinstance(query.get("order_id"), int):
        query["order_id"] = world.paid_order_id
    if path == "/slippers/" and isinstance(query.get("category_id"), int):
        query["category_id"] = world.category_id


def realistic(case, world: World, actor: Account, variant: int = 0):
    """The same request aimed at the world's rows (changed in place, and returned)."""
    if case.path_parameters and _positive(case, ParameterLocation.PATH):
        ids = path_ids(world, variant)
        for name in case.path_parameters:
            if name in ids:
                case.path_parameters[name] = ids[name]
    _body(case, world, actor)
    _query(case, world, actor)
    return case
