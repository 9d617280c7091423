"""The miner page's parts beyond the headline figures, in a real browser against `poolstream run` with the
session's simulated fleet (conftest.py): each worker's temperature, the blocks the miner shared in (its PPLNS
credits), a payment with its transaction id, and the account box of a signed-in owner: the payout threshold set
and read back, and the tax report downloaded as a CSV in the chosen format."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from schemas.tax_formats import HEADERS
from tests.browser.support import ADMIN, PASSWORD, api_key, call, shot
from tests.e2e.harness import System

OWNER, OWNER_PASSWORD = "miner-owner", "miner-owner-password-1"


def miners(fleet: dict[str, Any]) -> tuple[str, str]:
    """(the smaller miner, the bigger one): the smaller has shares in blocks the bigger found, and the reverse."""
    rates = fleet["miner_true_hashrate"]
    small, big = sorted(rates, key=lambda a: rates[a])
    return small, big


@pytest.fixture(scope="module")
def owner(system: System, fleet: dict[str, Any]) -> str:
    """A user (role write) who owns a participant with the smaller miner's address; returns the address."""
    address = miners(fleet)[0]
    admin = api_key(system, ADMIN, PASSWORD)
    call(system, "POST", "/users", admin, {"username": OWNER, "password": OWNER_PASSWORD, "role": "write"}, expect=201)
    call(system, "POST", "/participants", api_key(system, OWNER, OWNER_PASSWORD),
         {"ton_wallet_address": address, "username": OWNER}, expect=201)
    return address


@pytest.fixture(scope="module")
def paid(system: System, owner: str) -> dict[str, Any]:
    """A manual payout (admin, the dry-run processor) of 0.01 BTC of the owner's mature balance."""
    system.wait_for(lambda: system.data(f"/api/v1/miners/{owner}/balances")[0]["mature_base_units"] >= 1_000_000, 60,
                    "a mature balance (BTC blocks confirmed)")
    payout: dict[str, Any] = call(system, "POST", "/payouts", api_key(system, ADMIN, PASSWORD),
                                  {"address": owner, "coin": "BTC", "amount": "0.01"}, expect=201)
    assert payout["state"] == "sent" and payout["tx_hash"], payout
    return payout


def sign_in(page: Page) -> None:
    page.fill("#account-user", OWNER)
    page.fill("#account-password", OWNER_PASSWORD)
    page.press("#account-password", "Enter")
    expect(page.locator("#account-tools")).to_be_visible()
    expect(page.locator("#account-signin")).to_be_hidden()


def test_workers_show_their_temperature(page: Page, system: System, fleet: dict[str, Any]) -> None:
    address = miners(fleet)[1]
    api = {w["name"]: w for w in system.data(f"/api/v1/miners/{address}/workers")}
    assert [w["temperature"] for w in api.values() if w["temperature"] is not None], "no simulated rig reported one"
    page.goto(f"/miner/{address}")
    rows = page.locator("#workers tbody tr")
    expect(rows).to_have_count(len(api))
    expect(page.locator("#workers th").nth(7)).to_have_text("Temperature")
    for i in range(len(api)):
        cells = rows.nth(i).locator("td")
        worker = api[cells.nth(0).inner_text()]
        if worker["temperature"] is None:
            expect(cells.nth(7)).to_have_text("–")
            continue
        shown = cells.nth(7).inner_text()
        assert shown.endswith(" °C"), shown
        assert float(shown.removesuffix(" °C")) == pytest.approx(worker["temperature"], abs=0.05)
        title = cells.nth(7).locator("span").get_attribute("title") or ""
        assert float(title.removeprefix("hottest device: ").removesuffix(" °C")) == pytest.approx(
            worker["temperature_max"], abs=0.05)


def test_blocks_the_miner_shared_in_with_its_credit(page: Page, system: System, fleet: dict[str, Any],
                                                    artifacts: Path) -> None:
    address = miners(fleet)[0]
    expected = {}  # height -> (found by this miner, its credit or None, reward), from the ledger of each block
    for block in fleet["blocks"]:
        lines = {x["entry_key"]: x["amount_base_units"] for x in system.data(f"/api/v1/blocks/{block['hash']}")["credits"]}
        credit = lines.get(f"credit:{block['hash']}:{address}")
        if credit is not None or block["miner"] == address:
            expected[block["height"]] = (block["miner"] == address, credit, block["reward"])
    assert any(not mine for mine, _, _ in expected.values()), "no block of another miner credited to this one"
    page.goto(f"/miner/{address}")
    rows = page.locator("#blocks tbody tr")
    expect(rows).to_have_count(len(expected))
    expect(page.locator("#h-blocks")).to_have_text("Blocks you shared in")
    for i in range(len(expected)):
        cells = rows.nth(i).locator("td")
        mine, credit, reward = expected[int(cells.nth(0).inner_text().replace(",", ""))]
        if mine:
            expect(cells.nth(2)).to_have_text("you")
        else:
            assert not address.startswith(cells.nth(2).inner_text().rstrip("…"))
        assert credit is not None  # every block was settled (the fleet fixture waited for it)
        expect(cells.nth(4)).to_have_text(f"{Decimal(credit).scaleb(-8):f} BTC")
        share = float(cells.nth(5).inner_text().removesuffix(" %"))
        assert share == pytest.approx(100 * credit / reward, abs=0.006)  # 2 decimals of a percentage
    shot(page, artifacts, "miner-blocks")


def test_payments_show_their_transaction(page: Page, owner: str, paid: dict[str, Any]) -> None:
    page.goto(f"/miner/{owner}")
    rows = page.locator("#payments tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(1)).to_have_text("0.01")
    expect(cells.nth(2).locator("code")).to_have_attribute("title", paid["tx_hash"])  # the whole id; shown cut
    expect(cells.nth(3)).to_have_text("sent")
    expect(page.locator("#paid")).to_have_text("0.01000000 BTC")


def test_owner_sets_the_payout_threshold_and_reads_it_back(page: Page, system: System, fleet: dict[str, Any],
                                                           owner: str, artifacts: Path) -> None:
    page.goto(f"/miner/{owner}")
    expect(page.locator("#account-tools")).to_be_hidden()  # nothing to change before signing in
    sign_in(page)
    thresholds = page.locator("#thresholds tbody tr")
    expect(thresholds).to_have_text(["Nothing yet."])
    page.select_option("#threshold-coin", "BTC")
    page.fill("#threshold-amount", "0.05")
    page.click("#threshold-form button[type=submit]")
    expect(page.locator("#threshold-result")).to_have_text("Saved: 0.05000000 BTC")
    expect(thresholds.first.locator("td")).to_have_text(["BTC", "0.05000000", "0.05000000"])
    shot(page, artifacts, "miner-account")
    stored = call(system, "GET", f"/miners/{owner}/threshold", api_key(system, OWNER, OWNER_PASSWORD))
    assert [(t["coin"], t["amount_base_units"]) for t in stored] == [("BTC", 5_000_000)]
    page.fill("#threshold-amount", "0.000000001")  # finer than a satoshi: the API refuses it, nothing changes
    page.click("#threshold-form button[type=submit]")
    expect(page.locator("#threshold-result")).not_to_contain_text("Saved")
    page.reload()  # read back from the API (the key stays for the tab)
    expect(page.locator("#account-tools")).to_be_visible()
    expect(thresholds.first.locator("td")).to_have_text(["BTC", "0.05000000", "0.05000000"])
    page.goto(f"/miner/{miners(fleet)[1]}")  # an address this account does not own
    expect(page.locator("#threshold-result")).to_contain_text("This account does not own this address")
    expect(thresholds).to_have_text(["Nothing yet."])


def test_owner_downloads_the_tax_report_in_the_chosen_format(page: Page, system: System, fleet: dict[str, Any],
                                                             owner: str, paid: dict[str, Any], tmp_path: Path) -> None:
    credited = sum(1 for b in fleet["blocks"] if any(
        x["entry_key"] == f"credit:{b['hash']}:{owner}" for x in system.data(f"/api/v1/blocks/{b['hash']}")["credits"]))
    assert credited > 0
    year = dt.datetime.now(dt.UTC).year
    page.goto(f"/miner/{owner}")
    sign_in(page)
    expect(page.locator("#tax-year")).to_have_value(str(year))
    for fmt, fiat, basis, rows in (("koinly", "JPY", "credit", credited), ("cointracking", "USD", "payout", 1)):
        page.select_option("#tax-format", fmt)
        page.fill("#tax-fiat", fiat)
        page.select_option("#tax-basis", basis)
        with page.expect_download() as info:
            page.click("#tax-form button[type=submit]")
        download = info.value
        assert download.suggested_filename == f"tax-report-{year}-{fmt}.csv"
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        with path.open(newline="", encoding="utf-8-sig") as f:
            lines = list(csv.reader(f))
        assert tuple(lines[0]) == HEADERS[fmt]
        assert len(lines) - 1 == rows, lines  # one row per credit; one per payout (the one of `paid`)
        if basis == "payout":
            assert lines[1][HEADERS[fmt].index("Tx-ID")] == paid["tx_hash"]
        expect(page.locator("#tax-result")).to_have_text(f"Downloaded: tax-report-{year}-{fmt}.csv")
