"""The per-network key of the limits: the quick path for dotted quads must say exactly
what the ipaddress module says, for any text a client address could be."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from outagewatch.ingest.limits import network_prefix


def by_ipaddress(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


octet = st.one_of(
    st.integers(0, 255).map(str),
    st.integers(0, 999).map(lambda i: f"{i:03d}"),  # leading zeros: not an address
    st.text("0123456789+- x", max_size=4),
)
dotted = st.lists(octet, min_size=3, max_size=5).map(".".join)


@given(st.one_of(dotted, st.ip_addresses().map(str), st.text(max_size=20)))
def test_the_quick_path_agrees_with_ipaddress(address: str) -> None:
    assert network_prefix(address) == by_ipaddress(address)


def test_addresses_of_one_network_share_a_prefix() -> None:
    assert network_prefix("203.0.113.7") == network_prefix("203.0.113.250") == "203.0.113.0/24"
    assert network_prefix("203.0.114.7") != network_prefix("203.0.113.7")
