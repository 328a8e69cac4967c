"""Reading payments: the admin list, one payment for its owner or an admin, 404 for others."""

from __future__ import annotations

import pytest

from tests.conftest import assert_error_shape
from tests.payments.helpers import create_payment, notify, place_order, signed_callback

PAYMENT_FIELDS = {
    "id",
    "order_id",
    "amount",
    "refunded_amount",
    "currency",
    "status",
    "octo_payment_UUID",
    "shop_transaction_id",
    "octo_pay_url",
    "created_at",
    "updated_at",
    "paid_at",
}


@pytest.fixture
def two_payments(client, octo, user_headers, slipper, make_slipper):
    """A PAID payment and a CREATED one, of two orders."""
    first = place_order(client, user_headers, [(slipper, 1)])
    paid = create_payment(client, user_headers, first["id"])
    notify(client, signed_callback(octo, paid["octo_payment_UUID"], "succeeded"))
    second = place_order(client, user_headers, [(make_slipper(price="3.00"), 1)])
    created = create_payment(client, user_headers, second["id"])
    return paid, created


def test_admin_lists_newest_first_with_filters(client, two_payments, admin_headers):
    paid, created = two_payments
    page = client.get("/payments/", headers=admin_headers).get_json()
    assert [item["id"] for item in page["items"]] == [created["payment_id"], paid["payment_id"]]
    assert page["total"] == 2 and page["page"] == 1 and page["pages"] == 1
    assert set(page["items"][0]) == PAYMENT_FIELDS
    assert page["items"][1]["status"] == "PAID" and page["items"][1]["amount"] == "125000.50"
    only_paid = client.get("/payments?status=PAID", headers=admin_headers).get_json()
    assert [item["id"] for item in only_paid["items"]] == [paid["payment_id"]]
    by_order = client.get(
        f"/payments/?order_id={created['order_id']}", headers=admin_headers
    ).get_json()
    assert [item["id"] for item in by_order["items"]] == [created["payment_id"]]
    past_end = client.get("/payments/?page=5&page_size=1", headers=admin_headers).get_json()
    assert past_end["items"] == [] and past_end["total"] == 2


@pytest.mark.parametrize(
    "query", ["status=paid", "status=NOPE", "page_size=101", "page=0", "order_id=x", "order_id=0"]
)
def test_bad_list_queries_are_422(client, admin_headers, query):
    assert_error_shape(client.get(f"/payments/?{query}", headers=admin_headers), 422)


def test_only_admins_list(client, user_headers):
    assert_error_shape(client.get("/payments/", headers=user_headers), 403)
    assert_error_shape(client.get("/payments/"), 401)


def test_owner_sees_the_payment_without_raw_payloads(client, two_payments, user_headers):
    paid, _created = two_payments
    body = client.get(f"/payments/{paid['payment_id']}", headers=user_headers).get_json()
    assert set(body) == PAYMENT_FIELDS | {"refunds", "events"}
    assert body["status"] == "PAID" and body["paid_at"] and body["refunds"] == []
    assert [e["outcome"] for e in body["events"]] == ["attached", "applied"]
    assert all("payload" not in event for event in body["events"])


def test_admin_sees_raw_payloads(client, two_payments, admin_headers):
    paid, _created = two_payments
    body = client.get(f"/payments/{paid['payment_id']}", headers=admin_headers).get_json()
    callback = body["events"][-1]
    assert callback["source"] == "callback" and callback["signature_valid"] is True
    assert callback["payload"]["status"] == "succeeded"
    assert callback["payload"]["total_sum"] == "125000.50"  # exact, kept as text


def test_other_users_and_missing_payments_are_404(
    client, two_payments, other_headers, admin_headers
):
    paid, _created = two_payments
    assert_error_shape(client.get(f"/payments/{paid['payment_id']}", headers=other_headers), 404)
    assert_error_shape(client.get("/payments/999999", headers=admin_headers), 404)
    assert_error_shape(client.get(f"/payments/{2**40}", headers=admin_headers), 404)
    assert_error_shape(client.get(f"/payments/{paid['payment_id']}"), 401)
