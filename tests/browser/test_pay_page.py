"""A buyer pays on the OCTO sandbox's hosted page; the shop's webhook confirms the order."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.live_server_only]

CONFIRM_WAIT_SEC = 20


def wait_for_order_status(shop, token: str, order_id: int, wanted: str) -> dict:
    """Poll GET /orders/{id} (bounded) until it has `wanted`; the last answer either way."""
    deadline = time.monotonic() + CONFIRM_WAIT_SEC
    while True:
        response = shop.api("GET", f"/orders/{order_id}", token)
        assert response.status_code == 200, response.text
        order = response.json()
        if order["status"] == wanted or time.monotonic() > deadline:
            return order
        time.sleep(0.2)


def test_paying_on_the_octo_page_confirms_the_order(browser, browser_shop, screenshots):
    slipper = browser_shop.add_slipper("Khiva Felt (browser test)", "99000.50", 3)
    _, token = browser_shop.register()
    order = browser_shop.api(
        "POST", "/orders/", token, json={"items": [{"slipper_id": slipper["id"], "quantity": 2}]}
    )
    assert order.status_code == 201, order.text
    order = order.json()
    assert (order["status"], order["total_amount"]) == ("pending", "198001.00")
    created = browser_shop.api(
        "POST", "/payments/octo/create", token, json={"orderId": order["id"]}
    )
    assert created.status_code == 201, created.text
    payment = created.json()
    assert payment["octo_pay_url"].startswith(f"{browser_shop.sim.base_url}/pay/")

    browser.get(payment["octo_pay_url"])
    pay_button = WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "pay-button"))
    assert browser.find_element(By.ID, "amount").text == "198,001.00 UZS"
    assert browser.find_element(By.ID, "status").text == "wait_user_action"
    browser.save_screenshot(str(screenshots / "octo-pay-page.png"))

    pay_button.click()
    result = WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "result"))
    assert result.text == "Payment succeeded"
    assert browser.find_element(By.ID, "status").text == "succeeded"
    browser.save_screenshot(str(screenshots / "octo-pay-result.png"))

    confirmed = wait_for_order_status(browser_shop, token, order["id"], "confirmed")
    assert confirmed["status"] == "confirmed"
    paid = browser_shop.api("GET", f"/payments/{payment['payment_id']}", token)
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["amount"]) == ("PAID", "198001.00")
    left = browser_shop.api("GET", f"/slippers/{slipper['id']}")
    assert left.json()["quantity"] == 1
    delivered = browser_shop.sim.callbacks()
    assert [
        (c["status"], c["status_code"])
        for c in delivered
        if c["octo_payment_UUID"] == payment["octo_payment_UUID"]
    ] == [("succeeded", 200)]
