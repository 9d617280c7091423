"""The one address/worker rule (schemas.identity): per-coin syntax at the gateway, the pipeline's rule, and
that the first implies the second; the Stratum password rule and the hardware hint."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernels.share_checks import check_reference
from schemas.algorithms import Algorithm
from schemas.hardware import hardware_hint
from schemas.identity import (
    BASE58,
    BECH32,
    IdentityError,
    address_coin,
    is_valid_address,
    parse_user,
    valid_address,
    valid_worker,
)
from schemas.reasons import Reason
from sources.stratum.identity import requested_difficulty

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
        ("DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L", SCRYPT),  # Dogecoin P2PKH
        ("A8GYmKj1v9SZCbzCYhuGdm7vY3Fz1Sn1Jg", SCRYPT),  # Dogecoin P2SH
        ("9wYcMHbxzNV3oSMJZyk7iTLHmXu3W3Pk8y", SCRYPT),  # Dogecoin P2SH
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
        ("DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L", SHA),  # Dogecoin is scrypt
        ("bc1qw508d6qejxt", SHA),  # 15-character bech32: was let in by the gateway, refused by the kernel
    ],
)
def test_invalid_addresses(address: str, algorithm: Algorithm) -> None:
    assert not is_valid_address(address, algorithm)


def test_parse_user() -> None:
    ident = parse_user("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.rig-01", SHA)
    assert (ident.address, ident.worker) == ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "rig-01")
    assert parse_user("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", SHA).worker == ""
    assert parse_user("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.rig.01", SHA).worker == "rig.01"
    for bad in ("", None, 42, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.bad name", "nope.rig"):
        with pytest.raises(IdentityError):
            parse_user(bad, SHA)


def test_coin_is_known_per_address() -> None:
    assert parse_user("DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L.doge1", SCRYPT).coin == "DOGE"
    assert parse_user("LVg2kJoFNg45Nbpy53h7Fe1wKyeXVRhMH9.ltc1", SCRYPT).coin == "LTC"
    assert parse_user("ltc1qg82tf9d5vj6h0w0qx6qnnnhjz8l3t05czh5d6a", SCRYPT).coin == "LTC"
    assert parse_user("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", SHA).coin == "BTC"


_candidates = st.one_of(
    st.builds(lambda hrp, data: f"{hrp}1{data}", st.sampled_from(["bc", "tb", "bcrt", "ltc", "tltc", "BC"]),
              st.text(alphabet=sorted(BECH32), min_size=0, max_size=95)),
    st.builds(lambda lead, rest: lead + rest, st.sampled_from(sorted("13mn2LMQDA9")),
              st.text(alphabet=sorted(BASE58), min_size=0, max_size=40)),
    st.text(max_size=120),
)


@given(_candidates, st.sampled_from([SHA, SCRYPT]), st.text(alphabet="abcXYZ019_.-", max_size=70))
def test_what_the_gateway_accepts_the_pipeline_accepts(address: str, algorithm: Algorithm, worker: str) -> None:
    """One rule: a user the gateway authorizes never has its shares rejected as bad_address/bad_worker."""
    try:
        ident = parse_user(f"{address}.{worker}" if worker else address, algorithm)
    except IdentityError:
        return
    assert address_coin(ident.address, algorithm) == ident.coin
    assert valid_address(ident.address) and valid_worker(ident.worker)
    verdict = check_reference(1_000, 1_000, 1.0, True, 0, ident.address, ident.worker, 3_600_000, 300_000)
    assert verdict not in (int(Reason.BAD_ADDRESS), int(Reason.BAD_WORKER))


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
