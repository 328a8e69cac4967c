"""Browser tests: Debian's headless Chromium drives the real shop, served by its own process.

The shop runs under gunicorn on a free loopback port with a migrated SQLite file database
in a temporary folder (DEBUG off, a real SECRET_KEY, rate limits off, plain-HTTP cookies),
an admin made by `flask create-admin`, and the OCTO sandbox (tests/octo_sim_server.py) on
another loopback port, whose callbacks reach the shop's webhook. Chromium cannot resolve any
host name (`--host-resolver-rules`), so the pages must work with no internet.

Selenium Manager is never used: the driver and browser paths are given explicitly, and a
call into it fails the test. Without Chromium the tests fail in CI (`CI=true`) and are
skipped elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.selenium_manager import SeleniumManager
from selenium.webdriver.remote.webdriver import WebDriver

from tests.live_server import ROOT, free_port, running_gunicorn
from tests.octo_sim_server import SimServer, running_sim

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "test-output" / "browser"
SECRET_KEY = "browser-test-secret-key-0123456789abcdef"
ADMIN_NAME = "browser_admin"
ADMIN_PASSWORD = "Browser-Admin-2026"
USER_PASSWORD = "Browser-Buyer-2026"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1400",
    # No DNS at all: any asset that is not on the loopback addresses fails to load.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
# Before any page script: remember every CSP violation the page reports.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def require_chromium() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if not missing:
        return
    message = (
        f"Chromium is missing ({', '.join(missing)}): apt-get install -y chromium chromium-driver"
    )
    if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class BrowserShop:
    """The shop process, its sandbox, and API helpers (requests) for setting up data."""

    base_url: str
    sim: SimServer
    http: requests.Session

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(
            method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs
        )

    def login(self, username: str, password: str) -> str:
        response = self.api(
            "POST", "/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        self.http.cookies.clear()  # Bearer only: no cookie may leak into the next call
        return response.json()["access_token"]

    def register(self) -> tuple[str, str]:
        """A new buyer through the API; returns (username, access token)."""
        username = f"buyer_{uuid.uuid4().hex[:10]}"
        body = {"username": username, "password": USER_PASSWORD}
        response = self.api("POST", "/auth/register", json=body)
        assert response.status_code == 201, response.text
        return username, self.login(username, USER_PASSWORD)

    def add_slipper(self, name: str, price: str, quantity: int) -> dict:
        """A slipper (in a new category) created through the API by the admin."""
        token = self.login(ADMIN_NAME, ADMIN_PASSWORD)
        category = self.api(
            "POST", "/categories/", token, json={"name": f"Browser {uuid.uuid4().hex[:8]}"}
        )
        assert category.status_code == 201, category.text
        body = {
            "name": name,
            "size": "41",
            "price": price,
            "quantity": quantity,
            "category_id": category.json()["id"],
            "description": "Seeded by the browser tests.",
        }
        slipper = self.api("POST", "/slippers/", token, json=body)
        assert slipper.status_code == 201, slipper.text
        return slipper.json()


def _flask(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"flask {' '.join(args)}: {result.stdout}{result.stderr}"


@pytest.fixture(scope="session")
def browser_shop(tmp_path_factory) -> Iterator[BrowserShop]:
    workdir = tmp_path_factory.mktemp("browser-shop")
    database_url = f"sqlite:///{workdir / 'shop.db'}"
    port = free_port()
    with running_sim() as sim, requests.Session() as http:
        settings = {
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "COOKIE_SECURE": "false",
            "RATE_LIMIT_ENABLED": "false",
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
            "UPLOAD_FOLDER": str(workdir / "uploads"),
            "OCTO_API_BASE": sim.base_url,
            "OCTO_SHOP_ID": "1",
            "OCTO_SECRET": "sim-secret",
            "OCTO_UNIQUE_KEY": "sim-unique-key",
            "OCTO_ALLOW_UNSIGNED_CALLBACKS": "false",
            "OCTO_NOTIFY_URL": f"http://127.0.0.1:{port}/payments/octo/notify",
            "OCTO_RETURN_URL": f"http://127.0.0.1:{port}/health",
        }
        cli_env = {
            **{k: v for k, v in os.environ.items() if k not in {"ADMIN_PASSWORD"}},
            **settings,
        }
        _flask(cli_env, "db", "upgrade")
        _flask(
            {**cli_env, "ADMIN_PASSWORD": ADMIN_PASSWORD}, "create-admin", "--username", ADMIN_NAME
        )
        log_path = workdir / "gunicorn.log"
        with running_gunicorn(
            database_url, settings, port=port, workers=2, log_path=log_path
        ) as base_url:
            yield BrowserShop(base_url=base_url, sim=sim, http=http)


def _refuse_selenium_manager(*_args, **_kwargs):
    raise AssertionError("Selenium Manager must not run: driver and browser paths are fixed")


@pytest.fixture
def browser(tmp_path) -> Iterator[WebDriver]:
    """A fresh headless Chromium (its own profile folder), quit after the test."""
    require_chromium()
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SeleniumManager, "binary_paths", _refuse_selenium_manager)
        driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(30)
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS}
        )
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
