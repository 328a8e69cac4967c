"""The local OCTO sandbox, over real HTTP: API rules, pay page, callbacks and knobs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from slippers.octo_sim import create_sim_app
from slippers.payments.octo import OctoClient
from slippers.payments.octo_protocol import compute_signature, verify_signature
from tests.octo_sim_server import Receiver, SimServer, running_receiver, running_sim

UNIQUE_KEY = "sim-unique-key"
CALLBACK_FIELDS = {
    "shop_transaction_id",
    "octo_payment_UUID",
    "status",
    "signature",
    "hash_key",
    "total_sum",
    "transfer_sum",
    "refunded_sum",
    "card_country",
    "maskedPan",
    "rrn",
    "riskLevel",
    "payed_time",
    "card_type",
    "currency",
    "is_physical_card",
}
DELETE = object()


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    """No shop app and no database here: replaces conftest's per-test transaction."""
    yield


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with running_sim() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


def call(sim: SimServer, path: str, body: Any) -> dict:
    """POST to the fake OCTO API; OCTO answers business errors with HTTP 200."""
    data = body if isinstance(body, str) else json.dumps(body)
    response = sim.http.post(
        sim.base_url + path, data=data, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 200
    return json.loads(response.content, parse_float=Decimal)


def create_body(notify_url: str = "http://127.0.0.1:9/notify", **overrides: Any) -> dict:
    body = {
        "octo_shop_id": 1,
        "octo_secret": "sim-secret",
        "shop_transaction_id": "t-1",
        "auto_capture": True,
        "test": True,
        "init_time": "2024-01-01 10:00:00",
        "total_sum": 1000,
        "currency": "UZS",
        "description": "Order <b>#1</b>",
        "return_url": "http://127.0.0.1:8000/orders/1",
        "notify_url": notify_url,
        "language": "ru",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not DELETE}


def create(sim: SimServer, **overrides: Any) -> dict:
    answer = call(sim, "/prepare_payment", create_body(**overrides))
    assert answer["error"] == 0, answer
    return answer["data"]


def click(sim: SimServer, payment: dict, action: str) -> requests.Response:
    return sim.http.post(f"{payment['octo_pay_url']}/{action}", timeout=30)


# --- /prepare_payment ----------------------------------------------------------------------


def test_create_answers_like_octo(sim):
    data = create(sim)
    assert data["status"] == "created"
    assert data["shop_transaction_id"] == "t-1"
    assert data["total_sum"] == Decimal("1000.00")
    assert data["refunded_sum"] == Decimal("0")
    assert data["octo_pay_url"] == f"{sim.base_url}/pay/{data['octo_payment_UUID']}"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", DELETE),
        ("shop_transaction_id", ""),
        ("total_sum", 0),
        ("total_sum", -5),
        ("total_sum", "1000"),
        ("total_sum", True),
        ("total_sum", 10.005),
        ("currency", "EUR"),
        ("init_time", "2024-01-01T10:00:00"),
        ("init_time", "2024-13-01 10:00:00"),
        ("user_data", {"user_id": "1", "phone": None, "email": "a@b.uz"}),
        ("user_data", {"nickname": "x"}),
        ("auto_capture", "yes"),
        ("test", DELETE),
        ("language", "de"),
        ("ttl", 0),
        ("return_url", "javascript:alert(1)"),
        ("basket", [{"position_desc": "x", "count": 0, "price": 1}]),
        ("payment_methods", [{"method": "cash"}]),
    ],
)
def test_invalid_create_is_error_1(sim, field, value):
    answer = call(sim, "/prepare_payment", create_body(**{field: value}))
    assert answer["error"] == 1
    assert answer["errMessage"].startswith("data format error")
    assert sim.control("GET", "/payments") == []


@pytest.mark.parametrize(
    "credentials",
    [
        {"octo_shop_id": 2},
        {"octo_shop_id": "1"},
        {"octo_secret": "wrong"},
        {"octo_secret": DELETE},
    ],
)
def test_wrong_credentials_are_error_2(sim, credentials):
    answer = call(sim, "/prepare_payment", create_body(**credentials))
    assert answer["error"] == 2
    assert answer["errMessage"] == "wrong octo_shop_id or octo_secret"


def test_a_body_that_is_not_json_is_error_1(sim):
    assert call(sim, "/prepare_payment", "not json")["error"] == 1


def test_same_shop_transaction_id_returns_the_same_payment(sim):
    first = create(sim)
    again = create(sim, total_sum=5, description="another")
    assert again["octo_payment_UUID"] == first["octo_payment_UUID"]
    assert again["total_sum"] == Decimal("1000.00")


def test_status_check_mode(sim):
    created = create(sim)
    check = {"octo_shop_id": 1, "octo_secret": "sim-secret", "shop_transaction_id": "t-1"}
    sim.set_status(created["octo_payment_UUID"], "succeeded")
    answer = call(sim, "/prepare_payment", check)
    assert answer["data"]["status"] == "succeeded"
    assert answer["data"]["octo_payment_UUID"] == created["octo_payment_UUID"]
    unknown = call(sim, "/prepare_payment", {**check, "shop_transaction_id": "nope"})
    assert unknown["error"] != 0
    assert "not found" in unknown["errMessage"]


def test_custom_settings_are_used():
    settings = {"shop_id": 7, "secret": "s7", "unique_key": "k7"}
    with running_sim(settings) as sim, running_receiver() as receiver:
        data = create(sim, octo_shop_id=7, octo_secret="s7", notify_url=receiver.url)
        click(sim, data, "pay")
        (callback,) = receiver.received
    assert verify_signature("k7", callback)
    assert not verify_signature(UNIQUE_KEY, callback)


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="colour"):
        create_sim_app({"colour": "red"})


# --- /refund -------------------------------------------------------------------------------


def refund_body(payment_uuid: str, shop_refund_id: str, amount: Any) -> dict:
    return {
        "octo_shop_id": 1,
        "octo_secret": "sim-secret",
        "shop_refund_id": shop_refund_id,
        "octo_payment_UUID": payment_uuid,
        "amount": amount,
    }


def test_refund_rules_and_the_per_refund_cap(sim):
    data = create(sim, total_sum=25_000_000)
    uuid = data["octo_payment_UUID"]
    assert call(sim, "/refund", refund_body(uuid, "r-0", 10))["error"] == 3  # not paid yet
    sim.set_status(uuid, "succeeded")

    too_big = call(sim, "/refund", refund_body(uuid, "r-1", 10_000_000.01))
    assert too_big["error"] == 3
    ok = call(sim, "/refund", refund_body(uuid, "r-2", 10_000_000))
    assert ok["error"] == 0
    assert ok["data"]["status"] == "succeeded"
    assert ok["data"]["octo_payment_UUID"] == uuid
    again = call(sim, "/refund", refund_body(uuid, "r-2", 10_000_000))
    assert again["data"]["refund_id"] == ok["data"]["refund_id"]
    assert call(sim, "/refund", refund_body(uuid, "r-3", 0))["error"] == 3
    assert call(sim, "/refund", refund_body(uuid, "r-4", "5"))["error"] == 1
    assert call(sim, "/refund", refund_body("no-such-uuid", "r-5", 5))["error"] == 1
    assert sim.payment(uuid)["refunded_sum"] == Decimal("10000000.00")
    assert len(sim.payment(uuid)["refunds"]) == 1


# --- pay page ------------------------------------------------------------------------------


def test_pay_page_renders_buttons_and_marks_the_payment_opened(sim):
    data = create(sim)
    page = sim.http.get(data["octo_pay_url"], timeout=10)

    assert page.status_code == 200
    html = page.text
    for button in ("pay-button", "fail-button", "cancel-button"):
        assert f'id="{button}"' in html
    assert "1,000.00 UZS" in html
    assert "Order &lt;b&gt;#1&lt;/b&gt;" in html  # escaped, never raw HTML
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert sim.payment(data["octo_payment_UUID"])["status"] == "wait_user_action"
    assert sim.http.get(f"{sim.base_url}/pay/unknown", timeout=10).status_code == 404


def test_pay_delivers_a_correctly_signed_callback(sim, receiver):
    data = create(sim, notify_url=receiver.url)
    sim.http.get(data["octo_pay_url"], timeout=10).close()
    result = click(sim, data, "pay")

    assert result.status_code == 200
    assert 'id="return-link" href="http://127.0.0.1:8000/orders/1"' in result.text
    (callback,) = receiver.received
    assert set(callback) == CALLBACK_FIELDS
    assert callback["status"] == "succeeded"
    assert callback["octo_payment_UUID"] == data["octo_payment_UUID"]
    assert callback["shop_transaction_id"] == "t-1"
    assert callback["total_sum"] == Decimal("1000.00")
    assert callback["transfer_sum"] < callback["total_sum"]
    assert callback["signature"] == compute_signature(
        UNIQUE_KEY, data["octo_payment_UUID"], "succeeded"
    )
    assert verify_signature(UNIQUE_KEY, callback)
    (delivery,) = sim.callbacks()
    assert delivery["status_code"] == 200
    assert json.loads(delivery["response_body"]) == {"status": "ok"}
    assert sim.payment(data["octo_payment_UUID"])["status"] == "succeeded"


@pytest.mark.parametrize(("action", "status"), [("fail", "failed"), ("cancel", "canceled")])
def test_fail_and_cancel(sim, receiver, action, status):
    data = create(sim, notify_url=receiver.url)
    assert click(sim, data, action).status_code == 200
    assert [c["status"] for c in receiver.received] == [status]
    assert sim.payment(data["octo_payment_UUID"])["status"] == status


def test_a_second_action_changes_nothing(sim, receiver):
    data = create(sim, notify_url=receiver.url)
    click(sim, data, "pay")
    second = click(sim, data, "cancel")
    assert second.status_code == 409
    assert len(receiver.received) == 1
    assert sim.payment(data["octo_payment_UUID"])["status"] == "succeeded"


@pytest.mark.parametrize(("decision", "final"), [("capture", "succeeded"), ("cancel", "canceled")])
def test_two_stage_applies_the_shops_answer_to_the_hold(sim, decision, final):
    def answer(payload: dict) -> dict:
        if payload["status"] == "waiting_for_capture":
            return {"accept_status": decision}
        return {"status": "ok"}

    with running_receiver(answer) as receiver:
        data = create(sim, notify_url=receiver.url, auto_capture=False)
        click(sim, data, "pay")
    assert [c["status"] for c in receiver.received] == ["waiting_for_capture", final]
    assert all(verify_signature(UNIQUE_KEY, c) for c in receiver.received)
    assert sim.payment(data["octo_payment_UUID"])["status"] == final


def test_two_stage_hold_captured_later_with_set_accept(sim, receiver):
    data = create(sim, notify_url=receiver.url, auto_capture=False)
    click(sim, data, "pay")
    assert sim.payment(data["octo_payment_UUID"])["status"] == "waiting_for_capture"
    config = {"OCTO_API_BASE": sim.base_url, "OCTO_SHOP_ID": 1, "OCTO_SECRET": "sim-secret"}
    with OctoClient.from_config(config) as octo:
        octo.set_accept(
            octo_payment_uuid=data["octo_payment_UUID"],
            accept_status="capture",
            final_amount=Decimal("900.00"),
        )
    received = receiver.wait_for(2)
    assert [c["status"] for c in received] == ["waiting_for_capture", "succeeded"]
    assert received[1]["total_sum"] == Decimal("900.00")


# --- callback knobs ------------------------------------------------------------------------


def test_callbacks_can_repeat(sim, receiver):
    sim.callback_mode(repeat=3)
    data = create(sim, notify_url=receiver.url)
    click(sim, data, "pay")
    assert [c["status"] for c in receiver.received] == ["succeeded"] * 3
    assert all(verify_signature(UNIQUE_KEY, c) for c in receiver.received)
    assert [d["kind"] for d in sim.callbacks()] == ["status", "repeat", "repeat"]


def test_out_of_order_sends_a_stale_created_after_the_final_one(sim, receiver):
    sim.callback_mode(out_of_order=True)
    data = create(sim, notify_url=receiver.url)
    click(sim, data, "pay")
    assert [c["status"] for c in receiver.received] == ["succeeded", "created"]
    assert verify_signature(UNIQUE_KEY, receiver.received[-1])
    assert sim.payment(data["octo_payment_UUID"])["status"] == "succeeded"


def test_bad_signature_mode(sim, receiver):
    sim.callback_mode(bad_signature=True)
    data = create(sim, notify_url=receiver.url)
    click(sim, data, "pay")
    (callback,) = receiver.received
    assert not verify_signature(UNIQUE_KEY, callback)


def test_async_delayed_delivery(sim, receiver):
    sim.callback_mode(delay_sec=0.2, **{"async": True})
    data = create(sim, notify_url=receiver.url)
    result = click(sim, data, "pay")
    assert 'id="callbacks-sent">0<' in result.text
    assert [c["status"] for c in receiver.wait_for(1)] == ["succeeded"]


def test_callback_on_demand_does_not_change_the_payment(sim, receiver):
    data = create(sim, notify_url=receiver.url)
    record = sim.send_callback(
        data["octo_payment_UUID"], "succeeded", total_sum="1.00", bad_signature=True
    )
    assert record["kind"] == "manual"
    (callback,) = receiver.received
    assert callback["status"] == "succeeded"
    assert callback["total_sum"] == Decimal("1.00")
    assert not verify_signature(UNIQUE_KEY, callback)
    assert sim.payment(data["octo_payment_UUID"])["status"] == "created"


def test_silent_status_change_sends_no_callback(sim, receiver):
    data = create(sim, notify_url=receiver.url)
    sim.set_status(data["octo_payment_UUID"], "succeeded")
    assert receiver.received == []
    assert sim.callbacks() == []
    assert sim.payment(data["octo_payment_UUID"])["payed_time"]


def test_an_unreachable_notify_url_is_recorded(sim):
    data = create(sim, notify_url="http://127.0.0.1:9/notify")
    assert click(sim, data, "pay").status_code == 200
    (delivery,) = sim.callbacks()
    assert delivery["status_code"] is None
    assert "ConnectionError" in delivery["error"]


# --- faults, records, reset ------------------------------------------------------------------


def test_faults_apply_only_to_their_paths_and_count(sim):
    sim.fault("error", error_code=2, paths=["/refund"])
    assert create(sim)["status"] == "created"
    assert len(sim.control("GET", "/faults")) == 1
    answer = call(sim, "/refund", refund_body("x", "r", 1))
    assert answer["error"] == 2
    assert sim.control("GET", "/faults") == []


def test_http500_and_nonjson_faults(sim):
    sim.fault("http500")
    sim.fault("nonjson")
    url = sim.base_url + "/prepare_payment"
    first = sim.http.post(url, json=create_body(), timeout=10)
    second = sim.http.post(url, json=create_body(), timeout=10)
    assert first.status_code == 500
    assert second.status_code == 200
    assert second.headers["Content-Type"].startswith("text/html")


def test_requests_are_recorded_without_control_calls(sim):
    data = create(sim)
    click(sim, data, "cancel")
    recorded = sim.recorded()
    assert [r["path"] for r in recorded] == [
        "/prepare_payment",
        f"/pay/{data['octo_payment_UUID']}/cancel",
    ]
    assert recorded[0]["json"]["octo_secret"] == "sim-secret"
    assert '"shop_transaction_id": "t-1"' in recorded[0]["body"]
    assert len(sim.recorded("/prepare_payment")) == 1


def test_reset_forgets_everything(sim):
    create(sim)
    sim.fault("http500", count=3)
    sim.callback_mode(repeat=2)
    sim.response_shape("flat")
    sim.reset()
    assert sim.control("GET", "/payments") == []
    assert sim.recorded() == []
    assert sim.control("GET", "/faults") == []
    assert create(sim)["status"] == "created"  # data shape again, no faults left


def test_control_api_refuses_bad_input(sim):
    url = f"{sim.base_url}/_sim"
    assert sim.http.post(f"{url}/faults", json={"mode": "explode"}, timeout=5).status_code == 400
    assert sim.http.post(f"{url}/callback-mode", json={"repeat": 0}, timeout=5).status_code == 400
    assert sim.http.get(f"{url}/payments/nope", timeout=5).status_code == 404
    index = sim.http.get(f"{url}/", timeout=5).json()
    assert "POST /_sim/faults" in index["endpoints"]
