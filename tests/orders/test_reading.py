"""Listing and reading orders: ownership, filters, order, finance filter, query count."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from slippers.extensions import db
from slippers.orders.models import Order
from slippers.payments.models import Payment
from tests.conftest import assert_error_shape

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def place(client, make_slipper):
    slipper = make_slipper(quantity=1000, price="5.00")

    def _place(headers, quantity: int = 1) -> int:
        response = client.post(
            "/orders/",
            json={"items": [{"slipper_id": slipper.id, "quantity": quantity}]},
            headers=headers,
        )
        assert response.status_code == 201
        return response.get_json()["id"]

    return _place


def set_created(order_id: int, when: datetime) -> None:
    db.session.execute(update(Order).where(Order.id == order_id).values(created_at=when))
    db.session.commit()


def add_payment(order_id: int, status: str, when: datetime, **fields) -> Payment:
    payment = Payment(
        order_id=order_id,
        amount=Decimal("5.00"),
        refunded_amount=Decimal(fields.pop("refunded_amount", "0.00")),
        currency="UZS",
        status=status,
        shop_transaction_id=uuid.uuid4().hex,
        octo_payment_uuid=uuid.uuid4().hex,
        created_at=when,
        updated_at=when,
        **fields,
    )
    db.session.add(payment)
    db.session.commit()
    return payment


def ids(page) -> list[int]:
    return [order["id"] for order in page["items"]]


def test_users_see_their_own_admins_see_all(
    client, user, other_user, user_headers, other_headers, admin_headers, place
):
    mine = [place(user_headers), place(user_headers)]
    theirs = place(other_headers)
    own = client.get("/orders/", headers=user_headers).get_json()
    assert sorted(ids(own)) == sorted(mine) and own["total"] == 2
    everyone = client.get("/orders", headers=admin_headers).get_json()
    assert sorted(ids(everyone)) == sorted([*mine, theirs])
    filtered = client.get(f"/orders/?user_id={other_user.id}", headers=admin_headers).get_json()
    assert ids(filtered) == [theirs]
    same = client.get(f"/orders/?user_id={user.id}", headers=user_headers).get_json()
    assert sorted(ids(same)) == sorted(mine)
    forbidden = client.get(f"/orders/?user_id={other_user.id}", headers=user_headers)
    assert_error_shape(forbidden, 403)
    assert_error_shape(client.get("/orders/"), 401)


def test_newest_first_ties_by_id(client, user_headers, place):
    a, b, c = place(user_headers), place(user_headers), place(user_headers)
    set_created(a, T0 + timedelta(hours=1))
    set_created(b, T0)
    set_created(c, T0)
    page = client.get("/orders/", headers=user_headers).get_json()
    assert ids(page) == [a, c, b]


def test_pagination_envelope(client, user_headers, place):
    made = [place(user_headers) for _ in range(5)]
    page = client.get("/orders/?page=2&page_size=2", headers=user_headers).get_json()
    assert page["total"] == 5 and page["pages"] == 3 and page["page"] == 2
    assert len(page["items"]) == 2 and set(ids(page)) <= set(made)
    past = client.get("/orders/?page=9", headers=user_headers).get_json()
    assert past["items"] == [] and past["total"] == 5


@pytest.mark.parametrize(
    "query",
    ["status=lost", "status=", "finance=all", "finance=", "page_size=101", "page=0", "user_id=x"],
)
def test_bad_query_args_are_422(client, user_headers, query):
    assert_error_shape(client.get(f"/orders/?{query}", headers=user_headers), 422)


def test_status_filter(client, user_headers, place):
    pending, cancelled = place(user_headers), place(user_headers)
    client.patch(f"/orders/{cancelled}", json={"status": "cancelled"}, headers=user_headers)
    page = client.get("/orders/?status=cancelled", headers=user_headers).get_json()
    assert ids(page) == [cancelled]
    assert ids(client.get("/orders/?status=pending", headers=user_headers).get_json()) == [pending]


def test_list_has_lines(client, user_headers, place):
    order_id = place(user_headers, quantity=3)
    item = client.get("/orders/", headers=user_headers).get_json()["items"][0]
    assert item["id"] == order_id and item["total_amount"] == "15.00"
    assert item["items"][0]["quantity"] == 3 and item["items"][0]["line_total"] == "15.00"


def test_list_is_a_constant_number_of_queries(
    client, user_headers, admin_headers, place, count_statements
):
    made = [place(user_headers)]
    with count_statements() as one:
        assert len(client.get("/orders/", headers=user_headers).get_json()["items"]) == 1
    made += [place(user_headers) for _ in range(9)]
    with count_statements() as ten:
        assert len(client.get("/orders/", headers=user_headers).get_json()["items"]) == 10
    for order_id in made:
        add_payment(order_id, "PAID", T0)
    with count_statements() as admin_view:
        page = client.get("/orders/?finance=paid_refunded", headers=admin_headers).get_json()
    assert page["total"] == 10
    assert 0 < len(one) == len(ten) == len(admin_view)


def test_finance_filter_uses_the_latest_payment(client, user_headers, admin_headers, place):
    paid, refunded, paid_then_failed, failed_then_paid, unpaid = (
        place(user_headers) for _ in range(5)
    )
    add_payment(paid, "PAID", T0)
    add_payment(refunded, "PAID", T0)
    add_payment(refunded, "REFUNDED", T0 + timedelta(minutes=1))
    add_payment(paid_then_failed, "PAID", T0)
    add_payment(paid_then_failed, "FAILED", T0 + timedelta(minutes=1))
    add_payment(failed_then_paid, "FAILED", T0)
    add_payment(failed_then_paid, "PAID", T0 + timedelta(minutes=1))
    # Same created_at: the higher id is the latest.
    add_payment(unpaid, "PAID", T0)
    add_payment(unpaid, "CANCELLED", T0)
    expected = {paid, refunded, failed_then_paid}
    for headers in (user_headers, admin_headers):
        page = client.get("/orders/?finance=paid_refunded", headers=headers).get_json()
        assert set(ids(page)) == expected and page["total"] == 3
    both = client.get("/orders/?finance=paid_refunded&status=pending", headers=user_headers)
    assert set(ids(both.get_json())) == expected


def test_detail_has_lines_payments_and_history(client, user_headers, admin_headers, place):
    order_id = place(user_headers, quantity=2)
    payment = add_payment(
        order_id, "PAID", T0, paid_at=T0 + timedelta(seconds=30), refunded_amount="1.50"
    )
    body = client.get(f"/orders/{order_id}", headers=user_headers).get_json()
    assert body["items"][0]["quantity"] == 2 and body["total_amount"] == "10.00"
    assert body["payments"] == [
        {
            "id": payment.id,
            "status": "PAID",
            "amount": "5.00",
            "refunded_amount": "1.50",
            "currency": "UZS",
            "octo_payment_UUID": payment.octo_payment_uuid,
            "created_at": "2026-01-01T12:00:00+00:00",
            "paid_at": "2026-01-01T12:00:30+00:00",
        }
    ]
    assert body["status_history"][0]["to_status"] == "pending"
    assert client.get(f"/orders/{order_id}", headers=admin_headers).status_code == 200


def test_timestamps_have_an_offset(client, user_headers, place):
    body = client.get(f"/orders/{place(user_headers)}", headers=user_headers).get_json()
    for field in ("created_at", "updated_at"):
        assert datetime.fromisoformat(body[field]).utcoffset() == timedelta(0)
