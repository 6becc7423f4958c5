"""The client address behind trusted proxies: believed from them only, never chosen by the client."""

from __future__ import annotations

import pytest

from gateway.forwarded import client_address, parse_networks

PROXIES = parse_networks("10.0.0.0/8, 127.0.0.1")


@pytest.mark.parametrize("remote,header,expected", [
    ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # not from a proxy: the header is the client's own claim
    ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
    ("10.1.2.3", "6.6.6.6, 198.51.100.7, 10.9.9.9", "198.51.100.7"),  # nearest untrusted hop, not the spoofed first
    ("10.1.2.3", "", "10.1.2.3"),
    ("10.1.2.3", "not-an-ip", "10.1.2.3"),
    ("10.1.2.3", "10.0.0.5", "10.0.0.5"),  # only proxies: the farthest one
    ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
])
def test_client_address(remote: str, header: str, expected: str) -> None:
    assert client_address(remote, header, PROXIES) == expected


def test_nothing_is_trusted_by_default_and_typos_are_refused() -> None:
    assert client_address("127.0.0.1", "198.51.100.7", parse_networks("")) == "127.0.0.1"
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        parse_networks("10.0.0.0/33")
