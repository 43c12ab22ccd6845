"""tests/onionaddr.py: the v3 onion address encoding the suites use (against public addresses;
tests/healthy checks it against the keys the lab nodes' Tor made)."""
import pytest

from onionaddr import fresh_onion_v3, is_onion_v3, onion_v3

# Published v3 onion services (their operators' own addresses).
PUBLIC = ["duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
          "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"]


@pytest.mark.parametrize("address", PUBLIC)
def test_published_addresses_are_valid(address):
    assert is_onion_v3(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_one_changed_character_breaks_the_checksum(address):
    i = 10
    changed = address[:i] + ("a" if address[i] != "a" else "b") + address[i + 1:]
    assert not is_onion_v3(changed)


@pytest.mark.parametrize("address", [None, "", "expyuzz4wqqyqhjn.onion", PUBLIC[0].upper(),
                                     PUBLIC[0][:-6] + ".com", PUBLIC[0][:-7] + "e.onion"])
def test_malformed_addresses_are_refused(address):
    assert not is_onion_v3(address)


def test_a_fresh_key_encodes_to_a_valid_distinct_address():
    a, b = fresh_onion_v3(), fresh_onion_v3()
    assert is_onion_v3(a) and is_onion_v3(b) and a != b


def test_a_key_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        onion_v3(b"\x00" * 31)
