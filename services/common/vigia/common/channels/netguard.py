"""The SSRF guard of outgoing webhooks: resolve, check every address, connect to the one checked.

A webhook URL is chosen by an organization's admin, so it could point at the platform's own
network (the metadata service at 169.254.169.254, PostgreSQL on 10.x, the broker on localhost).
:func:`resolve_checked` resolves the host once, refuses the whole target when ANY of its addresses
is private, loopback, link-local, multicast, reserved or unspecified (unless the address is inside
a network of the allow-list, ``VIGIA_NOTIFIER_ALLOWED_NETWORKS``), and returns the address it
checked. The caller connects to that address (the URL's host replaced by it, ``Host`` and TLS SNI
kept to the name), never resolving again, so a DNS answer that changes between the check and the
connection (rebinding) cannot redirect the request. Nothing here opens a socket.

A name's addresses are reused for :data:`RESOLVED_TTL_S` (a webhook busy with many actions does not
ask the resolver, through a thread of the default executor, for every one); they are checked
against each policy they are used with. A URL allowed by a policy is not parsed and checked again
for as long.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import SplitResult, urlsplit

from vigia.common.channels.base import PermanentError, TransientError
from vigia.common.client_address import IPNetwork, parse_networks

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVED_TTL_S = 30.0
RESOLVED_MAX = 1024
_resolved: dict[tuple[str, int], tuple[float, list[IPAddress]]] = {}
_allowed: dict[tuple[str, NetworkPolicy], tuple[float, CheckedTarget]] = {}


class TargetRefused(PermanentError):
    """The target resolves to an address the guard does not let the notifier reach."""


@dataclass(frozen=True)
class NetworkPolicy:
    """Networks the guard lets through although they are not public (empty: public only)."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_string(cls, networks: str) -> NetworkPolicy:
        """From a comma-separated list of CIDRs or addresses, e.g. ``"127.0.0.1/32,10.1.0.0/16"``."""
        return cls(parse_networks(networks) if networks.strip() else ())

    def allows(self, address: IPAddress) -> bool:
        if any(address in network for network in self.allowed):
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return self.allows(address.ipv4_mapped)
        return address.is_global and not _special(address)


def _special(address: IPAddress) -> bool:
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified
            or (isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None))


@dataclass(frozen=True)
class CheckedTarget:
    """A URL whose host resolved to ``address``, which the guard allowed."""

    url: str
    host: str
    port: int
    address: IPAddress

    @cached_property
    def connect_url(self) -> str:
        """The URL with its host replaced by the checked address (port and path kept)."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{literal}:{self.port}"
        return SplitResult(parts.scheme, netloc, parts.path or "/", parts.query, "").geturl()

    @property
    def host_header(self) -> str:
        default = 443 if urlsplit(self.url).scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


async def resolve_checked(url: str, policy: NetworkPolicy) -> CheckedTarget:
    """Resolve ``url``'s host and check every address; raises :class:`TargetRefused` (naming the
    address) before any connection, :class:`TransientError` when the name does not resolve now."""
    now = time.monotonic()
    cached = _allowed.get((url, policy))
    if cached is not None and cached[0] > now:
        return cached[1]
    target = await _resolve_checked(url, policy)
    if len(_allowed) >= RESOLVED_MAX:
        _allowed.clear()
    _allowed[(url, policy)] = (now + RESOLVED_TTL_S, target)
    return target


async def _resolve_checked(url: str, policy: NetworkPolicy) -> CheckedTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"not an http(s) URL with a host: {url[:200]!r}")
    if parts.username or parts.password:
        raise TargetRefused("URLs with credentials are refused: put them in the channel's secret headers")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(f"bad port in {url[:200]!r}") from exc
    addresses = await _resolve(host, port)
    if not addresses:
        raise TransientError(f"{host} resolved to no address")
    for address in addresses:
        if not policy.allows(address):
            raise TargetRefused(f"{host} resolves to {address}, a non-public address that is not "
                                "in VIGIA_NOTIFIER_ALLOWED_NETWORKS")
    return CheckedTarget(url=url, host=host, port=port, address=addresses[0])


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    now = time.monotonic()
    cached = _resolved.get((host, port))
    if cached is not None and cached[0] > now:
        return cached[1]
    addresses = await _lookup(host, port)
    if addresses:
        if len(_resolved) >= RESOLVED_MAX:
            _resolved.clear()
        _resolved[(host, port)] = (now + RESOLVED_TTL_S, addresses)
    return addresses


async def _lookup(host: str, port: int) -> list[IPAddress]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            raise PermanentError(f"{host} does not exist: {exc}") from exc
        raise TransientError(f"{host} could not be resolved: {exc}") from exc
    seen: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    return seen
