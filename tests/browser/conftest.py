"""Browser tests: Playwright (the Python package, no browser download) driving Debian's Chromium.

One system serves every test (session scope): `poolstream run` with a fleet simulated up front, an admin from
API_ADMIN_USER, the credits and maturity jobs every 2 s and BTC mature after 1 confirmation (so the blocks the
miners shared in are settled, and their credits can be paid, within seconds).

They FAIL (never skip) when /usr/bin/chromium is missing: the dashboard is untested otherwise. Fix:
`apt-get install -y chromium` (`.ci/run` does it). Screenshots go to tests/browser/artifacts/ (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.browser.support import ADMIN, PASSWORD, is_error
from tests.e2e.harness import System

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
#: No Google lookups or background connections (refused on a closed network), no GPU, a fresh profile.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


# Module scope, not session: Playwright's sync API runs an event loop on the main thread until it stops, and
# every later test that calls asyncio.run() in this process would fail while it runs.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
                    "(`apt-get install -y chromium`; `.ci/run` installs it)", pytrace=False)
    # Playwright gives each launch a fresh, empty profile directory of its own (it refuses --user-data-dir)
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    s = System(tmp_path_factory.mktemp("browser"))
    s.env.update({"API_ADMIN_USER": ADMIN, "API_ADMIN_PASSWORD": PASSWORD, "API_SNAPSHOT_INTERVAL_S": "1",
                  "CREDITS_INTERVAL_S": "2", "MATURITY_INTERVAL_S": "2", "COIN_BTC_MATURITY": "1"})
    s.start()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def fleet(system: System) -> dict[str, Any]:
    """2 miners x 2 workers over the last 10 minutes, with blocks, telemetry and a few rejected shares (invalid
    and stale: rejects by reason, dead letters); waits until the API has every share and the credits job has
    settled every block."""
    report = system.simulate("--miners", "2", "--workers", "2", "--duration", "600", "--seed", "13",
                             "--network-difficulty", "5e6", "--invalid-fraction", "0.02", "--stale-fraction", "0.01")
    accepted = report["accepted_valid"]
    system.wait_for(lambda: system.data("/api/v1/stats")["shares_24h"]["accepted"] == accepted, 60, "the shares")
    assert report["blocks"], "the simulated fleet found no block"
    system.wait_for(lambda: all(any(line["kind"] == "fee" for line in system.data(f"/api/v1/blocks/{b['hash']}")["credits"])
                                for b in report["blocks"]), 90, "every block settled by the credits job")
    return report


@pytest.fixture()
def page(browser: Browser, system: System) -> Iterator[Page]:
    context = browser.new_context(base_url=f"http://127.0.0.1:{system.api_port}", locale="en-GB",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if is_error(m) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], f"the page logged errors: {errors}"
