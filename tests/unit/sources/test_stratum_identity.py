"""User names, the per-coin address check, password rules and the hardware hint."""

from __future__ import annotations

import pytest

from schemas.algorithms import Algorithm
from sources.stratum.identity import (
    IdentityError,
    hardware_hint,
    is_valid_address,
    parse_user,
    requested_difficulty,
)

SHA, SCRYPT = Algorithm.SHA256D, Algorithm.SCRYPT


@pytest.mark.parametrize(
    ("address", "algorithm"),
    [
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", SHA),
        ("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", SHA),
        ("bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297", SHA),
        ("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", SHA),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", SHA),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", SHA),
        ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", SHA),
        ("ltc1qg82tf9d5vj6h0w0qx6qnnnhjz8l3t05czh5d6a", SCRYPT),
        ("LVg2kJoFNg45Nbpy53h7Fe1wKyeXVRhMH9", SCRYPT),
        ("MGxNPPB7eBoWPUaprtX9v9CXJZoD2465zN", SCRYPT),
    ],
)
def test_valid_addresses(address: str, algorithm: Algorithm) -> None:
    assert is_valid_address(address, algorithm)


@pytest.mark.parametrize(
    ("address", "algorithm"),
    [
        ("ltc1qg82tf9d5vj6h0w0qx6qnnnhjz8l3t05czh5d6a", SHA),  # the other coin
        ("LVg2kJoFNg45Nbpy53h7Fe1wKyeXVRhMH9", SHA),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", SCRYPT),
        ("bc1qAr0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", SHA),  # mixed case
        ("bc1qbr0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", SHA),  # 'b' is not bech32
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", SHA),  # '0' is not base58
        ("1A1zP1eP5Q", SHA),  # too short
        ("", SHA),
        ("worker1", SHA),
    ],
)
def test_invalid_addresses(address: str, algorithm: Algorithm) -> None:
    assert not is_valid_address(address, algorithm)


def test_parse_user() -> None:
    ident = parse_user("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.rig-01", SHA)
    assert (ident.address, ident.worker) == ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "rig-01")
    assert parse_user("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", SHA).worker == ""
    for bad in ("", None, 42, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.bad name", "nope.rig"):
        with pytest.raises(IdentityError):
            parse_user(bad, SHA)


def test_password_rules() -> None:
    assert requested_difficulty("d=0.01") == 0.01
    assert requested_difficulty("x,d=8") == 8.0
    assert requested_difficulty("sd=16") == 16.0
    for none in ("x", "", None, "d=abc", "d=-1", "d=inf", "d=0"):
        assert requested_difficulty(none) is None


@pytest.mark.parametrize(
    ("agent", "hint"),
    [
        ("cgminer/4.10.0", "asic"), ("bmminer/2.0.0", "asic"), ("Antminer S19", "asic"),
        ("cpuminer/2.5.1", "cpu"), ("cpuminer-multi/1.3.7", "cpu"),
        ("sgminer/5.6", "gpu"), ("ethminer-0.19", "gpu"), ("TeamRedMiner/0.10", "gpu"), ("lolMiner 1.8", "gpu"),
        ("my-gpu-rig", "gpu"), ("", ""), ("NiceHash/1.0.0", ""),
    ],
)  # fmt: skip
def test_hardware_hint(agent: str, hint: str) -> None:
    assert hardware_hint(agent) == hint
