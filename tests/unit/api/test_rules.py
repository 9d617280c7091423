"""Pure rules of the API: address shape, window alignment, and when a total hashrate is meaningful."""

from __future__ import annotations

import datetime as dt

import pytest

from api.errors import InvalidRequest
from api.services.hashrate import WindowRate, summarise
from api.services.windows import DAY, TEN_MINUTES, from_ms, to_ms
from api.validation import is_valid_address, require_address


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("a" * 20, True),
        ("Z9" * 50, True),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", True),
        ("a" * 19, False),
        ("a" * 101, False),
        ("bc1q_underscore_000000000", False),
        ("é" * 25, False),
        ("a" * 25 + "\n", False),
    ],
)
def test_address_shape(address: str, ok: bool) -> None:
    assert is_valid_address(address) is ok


def test_require_address_raises_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        require_address("nope")


def test_windows_align_their_start_to_the_bucket() -> None:
    now = dt.datetime(2025, 3, 1, 12, 34, 56, 789000, tzinfo=dt.UTC)
    now_ms = to_ms(now)
    assert from_ms(now_ms) == now
    assert from_ms(TEN_MINUTES.aligned_start_ms(now_ms)) == dt.datetime(2025, 3, 1, 12, 24, tzinfo=dt.UTC)
    assert from_ms(DAY.aligned_start_ms(now_ms)) == dt.datetime(2025, 2, 28, 12, 0, tzinfo=dt.UTC)


def test_total_only_when_one_algorithm() -> None:
    one = summarise([WindowRate("sha256d", 2.0, 10.0, 5.0)], TEN_MINUTES)
    assert one.total == 5.0
    two = summarise(
        [WindowRate("sha256d", 2.0, 10.0, 5.0), WindowRate("scrypt", 1.0, 10.0, 3.0)], DAY
    )
    assert two.total is None
    assert [a.algorithm for a in two.by_algorithm] == ["scrypt", "sha256d"]
    silent = summarise([], TEN_MINUTES, {"scrypt"})
    assert silent.total == 0.0
    assert silent.by_algorithm[0].hashrate == 0.0
