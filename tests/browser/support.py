"""Helpers of the browser tests: the admin of the test system, screenshots, reading figures off the page, and
API calls made the way a client would (to set up accounts and to check what the page shows)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import ConsoleMessage, Page

from tests.e2e.harness import System

ADMIN, PASSWORD = "web-admin", "web-admin-password-1"
UNITS = {"H/s": 1.0, "kH/s": 1e3, "MH/s": 1e6, "GH/s": 1e9, "TH/s": 1e12, "PH/s": 1e15, "EH/s": 1e18}


def is_error(message: ConsoleMessage) -> bool:
    # a refused API call is logged by Chromium as a failed resource load; the page shows it, that is the point
    return message.type == "error" and "Failed to load resource" not in message.text


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def hashrate_of(text: str) -> float:
    match = re.fullmatch(r"([\d.,]+)\s+(\S+)", text.strip())
    assert match, text
    return float(match.group(1).replace(",", "")) * UNITS[match.group(2)]


def call(system: System, method: str, path: str, key: str | None = None, body: Any = None,
         expect: int = 200) -> Any:
    """`data` of an /api/v1 call (with `key` as a Bearer API key), asserting its status."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.request(method, f"http://127.0.0.1:{system.api_port}/api/v1{path}", headers=headers,
                             json=body, timeout=30)
    assert response.status_code == expect, response.text
    return response.json()["data"]


def api_key(system: System, username: str, password: str) -> str:
    key: str = call(system, "POST", "/auth/api-key", body={"username": username, "password": password})["api_key"]
    return key
