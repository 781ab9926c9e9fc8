"""The client address behind trusted proxies: X-Forwarded-For read right to left, stopping at the
first untrusted hop; forged and malformed entries never win."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from vigia.common.client_address import (
    DEFAULT_TRUSTED_PROXIES,
    ClientAddressMiddleware,
    client_address,
    parse_address,
    parse_networks,
)
from vigia.common.settings import CommonSettings

LOOPBACK = parse_networks(DEFAULT_TRUSTED_PROXIES)
PROXIES = parse_networks("10.0.0.0/24, 172.30.0.10/32, fd00::/64")


def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_a_direct_peer_is_the_client() -> None:
    assert client_address("203.0.113.7", None, PROXIES) == address("203.0.113.7")


def test_one_trusted_hop_names_the_client() -> None:
    assert client_address("10.0.0.5", "198.51.100.20", PROXIES) == address("198.51.100.20")


def test_a_forged_entry_passed_through_a_trusted_proxy_is_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
    assert client_address("10.0.0.5", "1.2.3.4, 198.51.100.20", PROXIES) == address("198.51.100.20")


def test_a_header_from_an_untrusted_peer_is_ignored() -> None:
    assert client_address("203.0.113.7", "1.2.3.4", PROXIES) == address("203.0.113.7")


def test_private_networks_are_not_trusted_by_default() -> None:
    assert client_address("10.0.0.5", "1.2.3.4", LOOPBACK) == address("10.0.0.5")
    assert client_address("127.0.0.1", "1.2.3.4", LOOPBACK) == address("1.2.3.4")
    assert client_address("::1", "2001:db8::9", LOOPBACK) == address("2001:db8::9")


def test_a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_hop() -> None:
    # HAProxy (172.30.0.10) -> Kong (10.0.0.9) -> us; the client forged two entries of its own.
    header = "9.9.9.9, 10.0.0.77, 198.51.100.20, 172.30.0.10"
    assert client_address("10.0.0.9", header, PROXIES) == address("198.51.100.20")


def test_several_header_lines_are_one_list_in_order() -> None:
    lines = ["1.2.3.4", "198.51.100.20, 10.0.0.3"]
    assert client_address("10.0.0.5", lines, PROXIES) == address("198.51.100.20")


def test_when_every_hop_is_trusted_the_leftmost_is_the_client() -> None:
    assert client_address("10.0.0.5", "10.0.0.8, 10.0.0.7", PROXIES) == address("10.0.0.8")


@pytest.mark.parametrize("header", ["unknown", "", " , ", "evil.example.com", "1.2.3.4.5",
                                    "1.2.3.4:99999999", "[2001:db8::1", "1.2.3.4/24", "\x00"])
def test_a_malformed_hop_stops_at_the_trusted_hop_to_its_right(header: str) -> None:
    assert client_address("10.0.0.5", header, PROXIES) == address("10.0.0.5")
    # ...and nothing to the left of it is believed, even a well-formed address.
    assert client_address("10.0.0.5", f"1.2.3.4, {header}, 10.0.0.6", PROXIES) == address("10.0.0.6")


@pytest.mark.parametrize("hop, expected", [
    ("198.51.100.20:5123", "198.51.100.20"),
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("[2001:db8::1]", "2001:db8::1"),
    (" 2001:db8::1 ", "2001:db8::1"),
    ("::ffff:198.51.100.20", "198.51.100.20"),
])
def test_hops_with_ports_brackets_and_mapped_addresses(hop: str, expected: str) -> None:
    assert client_address("10.0.0.5", hop, PROXIES) == address(expected)


def test_a_peer_that_is_no_ip_address_gives_none() -> None:
    assert client_address(None, "1.2.3.4", PROXIES) is None
    assert client_address("testclient", "1.2.3.4", PROXIES) is None
    assert parse_address("") is None


def test_an_ipv4_mapped_peer_is_matched_against_ipv4_networks() -> None:
    assert client_address("::ffff:10.0.0.5", "198.51.100.20", PROXIES) == address("198.51.100.20")


def test_trusted_proxies_setting_defaults_to_loopback_and_refuses_a_bad_network() -> None:
    assert CommonSettings().trusted_proxy_networks == (ipaddress.ip_network("127.0.0.0/8"),
                                                       ipaddress.ip_network("::1/128"))
    assert CommonSettings(trusted_proxies="10.0.0.0/8, ::1").trusted_proxy_networks == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))
    for bad in ("10.0.0.1/8", "proxy.internal", "10.0.0.0/33"):
        with pytest.raises(ValueError, match="trusted_proxies"):
            CommonSettings(trusted_proxies=bad)


def _through_middleware(scope: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)

    asyncio.run(ClientAddressMiddleware(app, PROXIES)(scope, None, None))
    return seen


def test_middleware_rewrites_the_client_and_scheme_of_a_trusted_peer_only() -> None:
    headers = [(b"x-forwarded-for", b"1.2.3.4, 198.51.100.20"), (b"x-forwarded-proto", b"https")]
    behind = _through_middleware({"type": "websocket", "client": ("10.0.0.5", 40000), "scheme": "ws",
                                  "headers": headers})
    assert behind["client"] == ("198.51.100.20", 0) and behind["scheme"] == "wss"
    direct = _through_middleware({"type": "http", "client": ("203.0.113.7", 40000), "scheme": "http",
                                  "headers": headers})
    assert direct["client"] == ("203.0.113.7", 40000) and direct["scheme"] == "http"
    lifespan = _through_middleware({"type": "lifespan"})
    assert lifespan == {"type": "lifespan"}
