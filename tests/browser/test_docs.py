"""Swagger UI and ReDoc in a real browser with no internet: authorise, try calls, read them."""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import ADMIN_NAME, ADMIN_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.live_server_only]

SLIPPER_NAME = "Bukhara Velvet (browser test)"
KEEP_PARAMS = {"page", "page_size"}


def wait(driver: WebDriver, seconds: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def csp_complaints(driver: WebDriver, console: list[dict]) -> list[str]:
    """CSP violations seen by the page's listener plus any console line about the policy."""
    seen = [f"event: {item}" for item in driver.execute_script("return window.__cspViolations")]
    for entry in console:
        text = entry["message"]
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            seen.append(f"console: {text}")
    return seen


def operation(driver: WebDriver, method: str, path: str) -> WebElement:
    """Swagger UI's block for one operation."""
    xpath = f"//div[contains(@class, 'opblock-{method}')][.//*[@data-path='{path}']]"
    return wait(driver).until(lambda d: d.find_element(By.XPATH, xpath))


def clear_filled_filters(block: WebElement) -> None:
    """Empty the text inputs Swagger UI pre-filled from schema examples, as a user would
    before asking for the unfiltered list (paging inputs are kept)."""
    for field in block.find_elements(By.CSS_SELECTOR, "tr[data-param-name] input[type=text]"):
        row = field.find_element(By.XPATH, "./ancestor::tr[@data-param-name]")
        if row.get_attribute("data-param-name") in KEEP_PARAMS or not field.get_attribute("value"):
            continue
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.BACKSPACE)


def try_it_out(driver: WebDriver, block: WebElement) -> tuple[str, str, str]:
    """Expand the operation, press Try it out then Execute; (status, body, curl) shown."""
    summary = block.find_element(By.CSS_SELECTOR, ".opblock-summary")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", summary)
    summary.click()
    wait(driver).until(lambda d: block.find_element(By.CSS_SELECTOR, "button.try-out__btn")).click()
    execute = wait(driver).until(lambda d: block.find_element(By.CSS_SELECTOR, "button.execute"))
    clear_filled_filters(block)
    execute.click()
    status = wait(driver).until(
        lambda d: block.find_element(
            By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
        )
    )
    body = block.find_element(
        By.CSS_SELECTOR, ".live-responses-table tbody .response-col_description pre"
    )
    curl = block.find_element(By.CSS_SELECTOR, ".curl-command")
    return status.text.strip(), body.text, curl.text


def authorize(driver: WebDriver, token: str) -> None:
    """Paste the token into the bearerAuth field of the Authorize dialog."""
    driver.find_element(By.CSS_SELECTOR, ".auth-wrapper button.authorize").click()
    container = wait(driver).until(
        lambda d: d.find_element(
            By.XPATH, "//div[contains(@class, 'auth-container')][.//h4[contains(., 'bearerAuth')]]"
        )
    )
    container.find_element(By.CSS_SELECTOR, "input").send_keys(token)
    container.find_element(By.CSS_SELECTOR, "button.authorize").click()
    wait(driver).until(lambda d: "Authorized" in container.text)
    driver.find_element(By.CSS_SELECTOR, ".modal-ux button.btn-done").click()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".modal-ux"))


def test_swagger_ui_authorises_and_executes_calls_offline(browser, browser_shop, screenshots):
    slipper = browser_shop.add_slipper(SLIPPER_NAME, "149000.00", 7)
    token = browser_shop.login(ADMIN_NAME, ADMIN_PASSWORD)

    browser.get(f"{browser_shop.base_url}/docs")
    wait(browser).until(
        lambda d: "Slippers API" in d.find_element(By.CSS_SELECTOR, ".information-container").text
    )
    authorize(browser, token)

    status, body, curl = try_it_out(browser, operation(browser, "get", "/slippers/"))
    assert status == "200"
    page = json.loads(body)
    assert {"id": slipper["id"], "name": SLIPPER_NAME} in [
        {"id": item["id"], "name": item["name"]} for item in page["items"]
    ]
    assert page["total"] >= 1
    assert f"{browser_shop.base_url}/slippers/?page=1&page_size=20&sort=-created_at" in curl
    shown = browser.find_element(By.CSS_SELECTOR, ".opblock.is-open .curl-command")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", shown)
    browser.save_screenshot(str(screenshots / "docs-slippers-executed.png"))

    # The pasted token is what Swagger UI sends on a protected route.
    status, body, curl = try_it_out(browser, operation(browser, "get", "/auth/me"))
    assert status == "200"
    assert json.loads(body)["username"] == ADMIN_NAME
    assert f"Authorization: Bearer {token}" in curl

    console = browser.get_log("browser")  # reading it empties it: read once
    assert csp_complaints(browser, console) == []
    # The shop serves no /favicon.ico; the browser asks for it on its own.
    errors = [
        entry["message"]
        for entry in console
        if entry["level"] == "SEVERE" and "/favicon.ico " not in entry["message"]
    ]
    assert errors == [], "every Swagger UI asset is served by the shop itself"


def test_redoc_renders_offline_without_csp_violations(browser, browser_shop, screenshots):
    browser.get(f"{browser_shop.base_url}/redoc")
    title = wait(browser).until(
        lambda d: d.find_element(By.XPATH, "//h1[contains(., 'Slippers API')]")
    )
    assert title.is_displayed()
    wait(browser).until(lambda d: "/slippers/" in d.find_element(By.TAG_NAME, "body").text)
    browser.save_screenshot(str(screenshots / "redoc.png"))
    console = browser.get_log("browser")
    assert csp_complaints(browser, console) == []
