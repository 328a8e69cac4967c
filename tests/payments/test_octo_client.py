"""The OCTO client against the sandbox, over real HTTP (no mocking of requests)."""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from slippers.errors import GatewayError, GatewayTimeout
from slippers.payments.octo import OctoClient
from slippers.payments.octo_protocol import (
    compute_signature,
    dumps_json,
    format_init_time,
    to_money,
    verify_signature,
)
from slippers.payments.octo_results import PreparedPayment
from tests.octo_sim_server import SimServer, running_sim

NOTIFY_URL = "http://127.0.0.1:9/payments/octo/notify"  # the sandbox calls it only on pay actions
INIT_TIME = datetime(2024, 1, 1, 19, 30, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    """No shop app and no database here: replaces conftest's per-test transaction."""
    yield


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with running_sim() as server:
        yield server


def octo_config(sim: SimServer, **overrides: Any) -> dict[str, Any]:
    config = {
        "OCTO_API_BASE": sim.base_url,
        "OCTO_SHOP_ID": 1,
        "OCTO_SECRET": "sim-secret",
        "OCTO_TIMEOUT_SEC": 0.5,
        "OCTO_CONNECT_TIMEOUT_SEC": 0.5,
        "OCTO_RETRIES": 2,
        "OCTO_EXTRA_PARAMS": {},
    }
    config.update(overrides)
    return config


@pytest.fixture
def client(sim: SimServer) -> Iterator[OctoClient]:
    with OctoClient.from_config(octo_config(sim)) as octo:
        yield octo


def prepare(octo: OctoClient, **overrides: Any) -> PreparedPayment:
    arguments: dict[str, Any] = {
        "shop_transaction_id": "order-1-attempt-1",
        "total_sum": Decimal("12500.50"),
        "currency": "UZS",
        "description": "Slippers order #1",
        "return_url": "http://127.0.0.1:8000/orders/1",
        "notify_url": NOTIFY_URL,
        "language": "uz",
        "ttl": 15,
        "test": True,
        "auto_capture": True,
        "init_time": INIT_TIME,
    }
    arguments.update(overrides)
    return octo.prepare_payment(**arguments)


def paid_payment(sim: SimServer, octo: OctoClient, total: str = "100.00") -> PreparedPayment:
    prepared = prepare(octo, shop_transaction_id=f"paid-{total}", total_sum=Decimal(total))
    sim.set_status(prepared.octo_payment_uuid, "succeeded")
    return prepared


# --- prepare_payment and status --------------------------------------------------------------


def test_prepare_payment_sends_octo_fields_and_parses_the_answer(sim, client):
    prepared = prepare(client)

    assert prepared.status == "created"
    assert prepared.total_sum == Decimal("12500.50")
    assert isinstance(prepared.total_sum, Decimal)
    assert prepared.refunded_sum == Decimal("0")
    assert prepared.octo_pay_url == f"{sim.base_url}/pay/{prepared.octo_payment_uuid}"
    (sent,) = sim.recorded("/prepare_payment")
    assert '"total_sum": 12500.50' in sent["body"]  # a JSON number with exactly 2 decimals
    body = sent["json"]
    assert body["octo_shop_id"] == 1
    assert body["init_time"] == "2024-01-02 00:30:05"  # Tashkent is UTC+5
    assert body["auto_capture"] is True
    assert body["test"] is True
    assert body["ttl"] == 15
    assert "user_data" not in body


def test_prepare_payment_is_deduplicated_on_shop_transaction_id(sim, client):
    first = prepare(client)
    again = prepare(client, total_sum=Decimal("1.00"), description="changed")

    assert again.octo_payment_uuid == first.octo_payment_uuid
    assert again.total_sum == Decimal("12500.50")
    assert len(sim.control("GET", "/payments")) == 1
    other = prepare(client, shop_transaction_id="order-1-attempt-2")
    assert other.octo_payment_uuid != first.octo_payment_uuid


def test_check_status_follows_the_payment(sim, client):
    prepared = prepare(client)
    assert client.check_status("order-1-attempt-1").status == "created"

    sim.http.get(prepared.octo_pay_url, timeout=5).close()
    assert client.check_status("order-1-attempt-1").status == "wait_user_action"

    sim.set_status(prepared.octo_payment_uuid, "succeeded")
    status = client.check_status("order-1-attempt-1")
    assert status.status == "succeeded"
    assert status.octo_payment_uuid == prepared.octo_payment_uuid
    assert status.total_sum == Decimal("12500.50")
    (check,) = sim.recorded("/prepare_payment")[1:2]
    assert set(check["json"]) == {"octo_shop_id", "octo_secret", "shop_transaction_id"}


def test_check_status_of_an_unknown_payment_is_a_gateway_error(client):
    with pytest.raises(GatewayError) as caught:
        client.check_status("never-created")
    assert "not found" in caught.value.message
    assert caught.value.octo_code == 1


def test_flat_answers_of_older_octo_are_read_from_the_top_level(sim, client):
    sim.response_shape("flat")
    prepared = prepare(client)
    assert prepared.status == "created"
    assert prepared.octo_pay_url.endswith(prepared.octo_payment_uuid)
    assert client.check_status("order-1-attempt-1").total_sum == Decimal("12500.50")

    sim.set_status(prepared.octo_payment_uuid, "succeeded")
    refund = client.refund(
        shop_refund_id="r-flat", octo_payment_uuid=prepared.octo_payment_uuid, amount=Decimal(1)
    )
    assert refund.status == "ok"
    assert refund.succeeded
    assert refund.refund_id is None


# --- business errors ---------------------------------------------------------------------


def test_wrong_secret_is_octo_error_2(sim):
    config = octo_config(sim, OCTO_SECRET="wrong")
    with OctoClient.from_config(config) as octo, pytest.raises(GatewayError) as caught:
        prepare(octo)
    assert caught.value.octo_code == 2
    assert caught.value.status_code == 502
    assert caught.value.message == "wrong octo_shop_id or octo_secret"


def test_bad_data_is_octo_error_1_with_octos_message(client):
    with pytest.raises(GatewayError) as caught:
        prepare(client, currency="EUR")
    assert caught.value.octo_code == 1
    assert caught.value.message == "data format error: unsupported currency EUR"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (["errMessage", "errorMessage", "apiMessageForDevelopers"], "from errMessage"),
        (["errorMessage", "apiMessageForDevelopers"], "from errorMessage"),
        (["apiMessageForDevelopers"], "from apiMessageForDevelopers"),
        ([], "OCTO error 7"),
    ],
)
def test_error_message_is_the_first_present_octo_message(sim, client, fields, expected):
    message = f"from {fields[0]}" if fields else "unused"
    sim.fault("error", error_code=7, message=message, message_fields=fields)
    with pytest.raises(GatewayError) as caught:
        prepare(client)
    assert caught.value.message == expected
    assert caught.value.octo_code == 7
    assert len(sim.recorded("/prepare_payment")) == 1  # business errors are not retried


# --- transport errors, retries, timeouts -------------------------------------------------------


@pytest.mark.parametrize("mode", ["http500", "nonjson"])
def test_broken_answers_are_gateway_errors(sim, mode):
    with OctoClient.from_config(octo_config(sim, OCTO_RETRIES=0)) as octo:
        sim.fault(mode)
        with pytest.raises(GatewayError) as caught:
            prepare(octo)
    assert caught.value.octo_code is None
    assert ("HTTP 500" if mode == "http500" else "not a JSON object") in caught.value.message


def test_persistent_500_is_retried_then_reported(sim, client):
    sim.fault("http500", count=10)
    with pytest.raises(GatewayError, match="HTTP 500"):
        client.check_status("anything")
    assert len(sim.recorded("/prepare_payment")) == 3  # OCTO_RETRIES=2: three attempts


def test_one_500_is_recovered_by_a_retry(sim, client):
    sim.fault("http500", count=1)
    prepared = prepare(client)
    assert prepared.status == "created"
    assert len(sim.recorded("/prepare_payment")) == 2


def test_set_accept_is_never_retried(sim, client):
    prepared = prepare(client, auto_capture=False)
    sim.set_status(prepared.octo_payment_uuid, "waiting_for_capture")
    sim.fault("http500", count=1, paths=["/set_accept"])
    with pytest.raises(GatewayError):
        client.set_accept(
            octo_payment_uuid=prepared.octo_payment_uuid,
            accept_status="capture",
            final_amount=Decimal("12500.50"),
        )
    assert len(sim.recorded("/set_accept")) == 1


def test_set_accept_captures_a_held_payment(sim, client):
    prepared = prepare(client, auto_capture=False)
    sim.set_status(prepared.octo_payment_uuid, "waiting_for_capture")
    answer = client.set_accept(
        octo_payment_uuid=prepared.octo_payment_uuid,
        accept_status="capture",
        final_amount=Decimal("12500.50"),
    )
    assert answer["status"] == "succeeded"
    assert client.check_status("order-1-attempt-1").status == "succeeded"


@pytest.mark.parametrize("retries", [0, 2])
def test_a_hung_gateway_gives_gateway_timeout_within_the_deadline(sim, retries):
    sim.fault("timeout", count=10, delay_sec=2)
    config = octo_config(sim, OCTO_RETRIES=retries)
    with OctoClient.from_config(config) as octo:
        started = time.monotonic()
        with pytest.raises(GatewayTimeout) as caught:
            prepare(octo)
        elapsed = time.monotonic() - started
    assert caught.value.status_code == 504
    assert "did not answer" in caught.value.message
    # OCTO_TIMEOUT_SEC (0.5 s here) bounds the whole call, whatever OCTO_RETRIES says.
    assert elapsed < 1.5


def test_unreachable_gateway_is_a_gateway_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {"OCTO_API_BASE": f"http://127.0.0.1:{port}", "OCTO_SHOP_ID": 1, "OCTO_SECRET": "x"}
    with OctoClient.from_config(config) as octo, pytest.raises(GatewayError) as caught:
        octo.check_status("t-1")
    assert "unreachable" in caught.value.message
    assert "3 attempt(s)" in caught.value.message
    assert caught.value.octo_code is None


# --- what is sent ----------------------------------------------------------------------------


def test_extra_params_cannot_override_protected_keys(sim, caplog):
    extras = {
        "octo_secret": "stolen",
        "octo_shop_id": 99,
        "total_sum": 1,
        "currency": "USD",
        "notify_url": "http://evil.example/notify",
        "payment_methods": [{"method": "uzcard"}],
    }
    config = octo_config(sim, OCTO_EXTRA_PARAMS=extras)
    overrides = {"return_url": "http://evil.example/", "language": "ru"}
    with caplog.at_level(logging.WARNING), OctoClient.from_config(config) as octo:
        prepare(octo, extra_params=overrides)
    body = sim.recorded("/prepare_payment")[0]["json"]
    assert body["octo_secret"] == "sim-secret"
    assert body["octo_shop_id"] == 1
    assert body["total_sum"] == Decimal("12500.50")
    assert body["currency"] == "UZS"
    assert body["notify_url"] == NOTIFY_URL
    assert body["return_url"] == "http://127.0.0.1:8000/orders/1"
    assert body["language"] == "uz"  # the shop's own fields win over extras too
    assert body["payment_methods"] == [{"method": "uzcard"}]
    assert "octo_secret" in caplog.text and "stolen" not in caplog.text


def test_user_data_with_a_null_is_dropped(sim, client):
    prepare(client, user_data={"user_id": "7", "phone": None, "email": "a@b.uz"})
    complete = {"user_id": "7", "phone": "998901234567", "email": "a@b.uz"}
    prepare(client, shop_transaction_id="with-user", user_data=complete)
    first, second = (entry["json"] for entry in sim.recorded("/prepare_payment"))
    assert "user_data" not in first
    assert second["user_data"] == complete


def test_basket_prices_are_exact_numbers(sim, client):
    basket = [{"position_desc": "Slippers", "count": 2, "price": Decimal("0.10")}]
    prepare(client, basket=basket, total_sum=Decimal("0.20"))
    (sent,) = sim.recorded("/prepare_payment")
    assert '"price": 0.10' in sent["body"]


def test_secrets_never_reach_the_log(sim, caplog):
    with caplog.at_level(logging.DEBUG), OctoClient.from_config(octo_config(sim)) as octo:
        prepare(octo, request_id="req-42")
        with pytest.raises(GatewayError):
            octo.check_status("unknown")
        assert "sim-secret" not in repr(octo)
    assert "sim-secret" not in caplog.text
    assert "req-42" in caplog.text
    assert "order-1-attempt-1" in caplog.text


# --- refunds -----------------------------------------------------------------------------


def test_refund_is_deduplicated_on_shop_refund_id(sim, client):
    paid = paid_payment(sim, client)
    first = client.refund(
        shop_refund_id="refund-1", octo_payment_uuid=paid.octo_payment_uuid, amount=Decimal("30")
    )
    again = client.refund(
        shop_refund_id="refund-1", octo_payment_uuid=paid.octo_payment_uuid, amount=Decimal("30")
    )
    assert first.status == "succeeded" and first.succeeded
    assert again.refund_id == first.refund_id
    assert sim.payment(paid.octo_payment_uuid)["refunded_sum"] == Decimal("30.00")
    assert client.check_status(paid.shop_transaction_id).refunded_sum == Decimal("30.00")


def test_refunds_add_up_to_at_most_the_paid_amount(sim, client):
    paid = paid_payment(sim, client)
    uuid = paid.octo_payment_uuid
    client.refund(shop_refund_id="r-1", octo_payment_uuid=uuid, amount=Decimal("60.00"))
    with pytest.raises(GatewayError) as caught:
        client.refund(shop_refund_id="r-2", octo_payment_uuid=uuid, amount=Decimal("40.01"))
    assert caught.value.octo_code == 3
    assert caught.value.message == "invalid refund amount"
    rest = client.refund(shop_refund_id="r-3", octo_payment_uuid=uuid, amount=Decimal("40.00"))
    assert rest.succeeded
    assert sim.payment(uuid)["status"] == "succeeded"  # see the sandbox's note on full refunds
    assert sim.payment(uuid)["refunded_sum"] == Decimal("100.00")


@pytest.mark.parametrize("status", ["created", "wait_user_action", "failed", "canceled"])
def test_only_succeeded_payments_can_be_refunded(sim, client, status):
    prepared = prepare(client)
    sim.set_status(prepared.octo_payment_uuid, status)
    with pytest.raises(GatewayError) as caught:
        client.refund(
            shop_refund_id="r-1", octo_payment_uuid=prepared.octo_payment_uuid, amount=Decimal(1)
        )
    assert caught.value.octo_code == 3
    assert status in caught.value.message


def test_refund_amount_is_checked_locally_before_any_call(sim, client):
    with pytest.raises(ValueError):
        client.refund(shop_refund_id="r", octo_payment_uuid="u", amount=Decimal("0"))
    with pytest.raises(ValueError):
        client.refund(shop_refund_id="r", octo_payment_uuid="u", amount=Decimal("1.005"))
    with pytest.raises(TypeError):
        client.refund(shop_refund_id="r", octo_payment_uuid="u", amount=1.5)  # type: ignore[arg-type]
    assert sim.recorded() == []


# --- helpers -------------------------------------------------------------------------------


def test_money_is_serialised_exactly():
    text = dumps_json({"a": Decimal("0.1") + Decimal("0.2"), "b": Decimal("7"), "c": [Decimal(1)]})
    assert text == '{"a": 0.30, "b": 7.00, "c": [1.00]}'
    assert to_money("10") == Decimal("10.00")
    with pytest.raises(ValueError):
        to_money(Decimal("NaN"))


def test_init_time_is_tashkent_time_and_needs_a_timezone():
    new_york = timezone(timedelta(hours=-5))
    assert format_init_time(datetime(2024, 3, 1, 22, 0, tzinfo=new_york)) == "2024-03-02 08:00:00"
    with pytest.raises(ValueError):
        format_init_time(datetime(2024, 3, 1, 10, 0))


def test_compute_signature_is_upper_hex_sha1_of_key_uuid_status():
    expected = hashlib.sha1(b"key" + b"uuid-1" + b"succeeded").hexdigest().upper()
    assert compute_signature("key", "uuid-1", "succeeded") == expected
    assert expected == expected.upper() and len(expected) == 40


def test_verify_signature():
    signature = compute_signature("key", "uuid-1", "succeeded")
    payload = {"octo_payment_UUID": "uuid-1", "status": "succeeded", "signature": signature}

    assert verify_signature("key", payload)
    assert verify_signature("key", {**payload, "signature": signature.lower()})
    assert not verify_signature("other-key", payload)
    assert not verify_signature("key", {**payload, "status": "canceled"})
    assert not verify_signature("key", {**payload, "octo_payment_UUID": "uuid-2"})
    assert not verify_signature("", payload)
    assert not verify_signature("key", {**payload, "signature": None})
    assert not verify_signature("key", {**payload, "signature": 12})
    assert not verify_signature("key", {k: v for k, v in payload.items() if k != "signature"})
    assert not verify_signature("key", {**payload, "signature": "é" * 40})
