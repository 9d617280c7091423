"""The web dashboard in a real browser (Debian's Chromium) against `poolstream run` with a simulated fleet.

The system and the fleet are the session's (conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import ADMIN, PASSWORD, hashrate_of, shot
from tests.e2e.harness import JsonProducer, System


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
    expect(page.locator("#workers tbody tr")).to_have_count(len(system.data(f"/api/v1/miners/{address}/workers")))
    rejects = page.locator("#rejects tbody tr")
    assert api["rejects_24h"], "the fleet sent no rejected share of this miner"
    expect(rejects).to_have_count(len(api["rejects_24h"]))
    expect(rejects.first.locator("td").nth(1)).to_have_text(f"{api['rejects_24h'][0]['shares']:,}")
    expect(page.locator("#shares-rejected")).to_have_text(f"{api['shares']['rejected'] + api['shares']['stale']:,}")
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
    legend = page.locator("#chart .u-legend .u-series .u-label")  # the chart's own labels: time, then the line
    expect(page.locator("#chart")).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    english = label.inner_text()
    assert english == "Workers"
    expect(legend).to_have_text(["Time", "Hashrate"])
    page.click("[data-lang='ja']")
    expect(label).to_have_text("ワーカー")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#workers th").first).to_have_text("名前")
    expect(legend).to_have_text(["時刻", "ハッシュレート"])
    expect(page.locator("#chart canvas")).to_have_count(1)  # rebuilt, not doubled, and with its data
    expect(page.locator("#chart")).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    expect(page.locator("[data-range='24h']")).to_have_text("24 時間")
    expect(page).to_have_title("マイナー · poolstream")
    expect(page.locator("#blocks tbody tr").first.locator("td").nth(6)).to_have_text(  # a block state, translated
        re.compile(r"^(確定|発見（未確定）)$"))
    shot(page, artifacts, "miner-ja")
    page.reload()  # the choice is remembered
    expect(label).to_have_text("ワーカー")
    expect(legend).to_have_text(["時刻", "ハッシュレート"])
    page.click("[data-lang='en']")
    expect(label).to_have_text(english)
    expect(legend).to_have_text(["Time", "Hashrate"])


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
    busiest = max(fleet["miner_true_hashrate"], key=lambda a: fleet["miner_true_hashrate"][a])
    expect(page.locator("#miners tbody tr")).to_have_count(2)
    expect(page.locator("#miners tbody tr").first.locator("a")).to_have_attribute("href", f"/miner/{busiest}")
    blocks = len(fleet["blocks"])
    assert blocks > 0
    expect(page.locator("#blocks tbody tr")).to_have_count(min(blocks, 20))
    expect(page.locator("#fleet tbody tr").first).not_to_have_text("Nothing yet.")
    expect(page.locator("#broker-memory")).to_contain_text("MiB")
    expect(page.locator("#lag tbody tr").first).to_contain_text("shares")
    rejected = sum(fleet["invalid"].values()) + fleet["stale"] + fleet["duplicates"]
    assert rejected > 0
    dead = page.locator("#dead tbody tr")  # every rejected share is a dead letter, counted by reason
    expect(dead.first.locator("td").first).to_have_text("shares.rejected")
    counts = [int(c) for c in dead.locator("td:nth-child(3)").all_inner_texts()]
    assert sum(counts) == rejected, counts
    expect(page.locator("#rejects tbody tr")).to_have_count(len(counts))
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

