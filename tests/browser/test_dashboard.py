"""The web dashboard in a real browser (Debian's Chromium) against `poolstream run` with a simulated fleet.

One system serves every test here (module scope): a fleet simulated up front, an admin from API_ADMIN_USER.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.e2e.harness import JsonProducer, System

ADMIN, PASSWORD = "web-admin", "web-admin-password-1"
UNITS = {"H/s": 1.0, "kH/s": 1e3, "MH/s": 1e6, "GH/s": 1e9, "TH/s": 1e12, "PH/s": 1e15, "EH/s": 1e18}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    s = System(tmp_path_factory.mktemp("browser"))
    s.env.update({"API_ADMIN_USER": ADMIN, "API_ADMIN_PASSWORD": PASSWORD, "API_SNAPSHOT_INTERVAL_S": "1"})
    s.start()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def fleet(system: System) -> dict[str, Any]:
    """2 miners x 2 workers over the last 10 minutes, with blocks; waits until the API has every share."""
    report = system.simulate("--miners", "2", "--workers", "2", "--duration", "600", "--seed", "13",
                             "--network-difficulty", "5e6")
    accepted = report["accepted_valid"]
    system.wait_for(lambda: system.data("/api/v1/stats")["shares_24h"]["accepted"] == accepted, 60, "the shares")
    return report


@pytest.fixture()
def page(browser: Browser, system: System) -> Iterator[Page]:
    context = browser.new_context(base_url=f"http://127.0.0.1:{system.api_port}", locale="en-GB",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if _is_error(m) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


def _is_error(message: ConsoleMessage) -> bool:
    # a refused API call is logged by Chromium as a failed resource load; the page shows it, that is the point
    return message.type == "error" and "Failed to load resource" not in message.text


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def hashrate_of(text: str) -> float:
    match = re.fullmatch(r"([\d.,]+)\s+(\S+)", text.strip())
    assert match, text
    return float(match.group(1).replace(",", "")) * UNITS[match.group(2)]


def test_home_looks_up_a_miner(page: Page, fleet: dict[str, Any], artifacts: Path) -> None:
    address = next(iter(fleet["miner_true_hashrate"]))
    page.goto("/")
    expect(page.locator("#pool-miners")).to_have_text("2")
    page.fill("#address", "not an address")
    page.click("#lookup button[type=submit]")
    expect(page.locator("#lookup-error")).to_be_visible()
    shot(page, artifacts, "home")
    page.fill("#address", address)
    page.press("#address", "Enter")  # the keyboard works as well as the mouse
    page.wait_for_url(f"**/miner/{address}")
    expect(page.locator("#address")).to_have_text(address)


def test_miner_page_figures_chart_and_live_update(page: Page, system: System, fleet: dict[str, Any],
                                                   artifacts: Path) -> None:
    address = next(iter(fleet["miner_true_hashrate"]))
    api = system.data(f"/api/v1/miners/{address}")
    page.goto(f"/miner/{address}")
    expect(page.locator("#shares-accepted")).to_have_text(f"{api['shares']['accepted']:,}")
    shown = hashrate_of(page.locator("#hr-10m").inner_text())
    assert shown == pytest.approx(api["hashrate"], rel=0.01), (shown, api["hashrate"])  # 2 decimals of its unit
    expect(page.locator("#workers tbody tr")).to_have_count(2)
    chart = page.locator("#chart")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart).to_have_attribute("data-nonzero", re.compile(r"^[1-9]\d*$"))
    assert int(chart.get_attribute("data-points") or 0) >= 59  # 1 h of 1-minute steps
    page.click("[data-range='24h']")
    expect(chart).to_have_attribute("data-points", re.compile(r"^14[45]$"))
    page.click("[data-range='1h']")
    shot(page, artifacts, "miner")

    # a new share for this miner reaches the page over the WebSocket, without a reload
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#live")).to_have_attribute("data-state", "on")
    before = api["shares"]["accepted"]
    producer = JsonProducer(system.bootstrap, address, "rig-live", interval_s=0.05)
    producer.start()
    try:
        expect(page.locator("#shares-accepted")).not_to_have_text(f"{before:,}", timeout=20_000)
    finally:
        sent = producer.stop()
    assert sent > 0
    assert page.evaluate("window.__sameDocument") is True
    assert int(page.locator("#shares-accepted").inner_text().replace(",", "")) > before


def test_japanese_switch_translates_the_labels(page: Page, fleet: dict[str, Any], artifacts: Path) -> None:
    address = next(iter(fleet["miner_true_hashrate"]))
    page.goto(f"/miner/{address}")
    label = page.locator("#h-workers")
    english = label.inner_text()
    assert english == "Workers"
    page.click("[data-lang='ja']")
    expect(label).to_have_text("ワーカー")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#workers th").first).to_have_text("名前")
    shot(page, artifacts, "miner-ja")
    page.reload()  # the choice is remembered
    expect(label).to_have_text("ワーカー")
    page.click("[data-lang='en']")
    expect(label).to_have_text(english)


def test_miner_page_fits_a_phone(browser: Browser, system: System, fleet: dict[str, Any], artifacts: Path) -> None:
    address = next(iter(fleet["miner_true_hashrate"]))
    context = browser.new_context(base_url=f"http://127.0.0.1:{system.api_port}", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        phone.goto(f"/miner/{address}")
        expect(phone.locator("#chart canvas")).to_have_count(1)
        expect(phone.locator("#workers tbody tr").first).not_to_have_text("Nothing yet.")
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than a phone screen"
        shot(phone, artifacts, "miner-phone")
    finally:
        context.close()


def test_operator_page_refuses_an_anonymous_visitor(page: Page, system: System, artifacts: Path) -> None:
    page.goto("/operator")
    expect(page.locator("#refused")).to_have_text("Sign in as an administrator to see the operator pages.")
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#dashboard")).to_be_hidden()
    assert page.request.get("/api/v1/admin/config").status == 401  # what the page would have been told
    page.fill("#username", ADMIN)
    page.fill("#password", "wrong-password")
    page.click("#signin button[type=submit]")
    expect(page.locator("#refused")).to_contain_text("Sign-in failed")
    expect(page.locator("#dashboard")).to_be_hidden()
    shot(page, artifacts, "operator-refused")


def test_operator_page_works_for_the_admin(page: Page, system: System, fleet: dict[str, Any],
                                           artifacts: Path) -> None:
    page.goto("/operator")
    page.fill("#username", ADMIN)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    expect(page.locator("#dashboard")).to_be_visible()
    expect(page.locator("#pool-miners")).to_have_text("2")
    expect(page.locator("#algorithms tbody tr").first).to_contain_text("sha256d")
    blocks = len(fleet["blocks"])
    assert blocks > 0
    expect(page.locator("#blocks tbody tr")).to_have_count(min(blocks, 20))
    expect(page.locator("#fleet tbody tr").first).not_to_have_text("Nothing yet.")
    expect(page.locator("#broker-memory")).to_contain_text("MiB")
    expect(page.locator("#lag tbody tr").first).to_contain_text("shares")
    expect(page.locator("#live")).to_have_attribute("data-state", "on")
    shot(page, artifacts, "operator")
    page.reload()  # the key stays for the tab (sessionStorage)
    expect(page.locator("#dashboard")).to_be_visible()


def test_dashboard_assets_are_built_and_served(system: System) -> None:
    for path in ("/", "/operator", "/static/miner.js", "/static/style.css", "/static/uplot.css"):
        response = system.get(path)
        assert response.status_code == 200, path
    assert system.get("/miner/bad!address").status_code == 404
    assert "script-src 'self'" in system.get("/").headers["content-security-policy"]

