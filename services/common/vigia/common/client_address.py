"""The address of the client a request came from, behind our own proxies.

Behind HAProxy, Kong or an ingress controller every connection comes from the proxy; the client
is in ``X-Forwarded-For``, to which each proxy *appends* the address it received the request
from. Anything to the left of what our own proxies wrote was written by the client and can say
anything, so the header is read **right to left**: starting from the direct peer, as long as the
hop in hand is a trusted proxy (``VIGIA_TRUSTED_PROXIES``) the next hop to its left is believed;
the first untrusted hop is the client. A peer outside the trusted networks is the client, whatever
header it sends.

A malformed entry (``unknown``, a host name, an empty item) stops the walk at the trusted hop to
its right: what lies beyond it cannot be told apart from a forgery. Only ``X-Forwarded-For`` is
read — HAProxy (``option forwardfor``), Kong and ingress-nginx all write it; ``Forwarded`` and
``X-Real-IP`` are ignored.

:func:`client_address` is the one rule; control (Django) and the gateways (ASGI, through
:class:`ClientAddressMiddleware`) both use it, with the networks of
:attr:`vigia.common.settings.CommonSettings.trusted_proxy_networks`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TRUSTED_PROXIES = "127.0.0.0/8,::1/128"

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (a bare address means that one host). Raises ``ValueError`` naming the
    first entry that is not a network (host bits set, e.g. ``10.0.0.1/8``, count as not one)."""
    networks: list[IPNetwork] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not a network in CIDR notation ({exc})") from None
    return tuple(networks)


def parse_address(text: str | None) -> IPAddress | None:
    """One hop as proxies write it — ``203.0.113.7``, ``2001:db8::1``, ``203.0.113.7:5123`` or
    ``[2001:db8::1]:443`` — without its port; an IPv4-mapped IPv6 address as IPv4. ``None`` when
    it is not an IP address."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("["):  # [IPv6] or [IPv6]:port
        end = text.find("]")
        if end == -1 or (text[end + 1:] and not _is_port(text[end + 1:])):
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4:port (an IPv6 address has at least two colons)
        text, port = text.split(":")
        if not _is_port(":" + port):
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_port(suffix: str) -> bool:
    return suffix.startswith(":") and suffix[1:].isascii() and suffix[1:].isdigit() and len(suffix) <= 6


def is_trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    """Whether ``address`` is one of our proxies."""
    return any(address.version == network.version and address in network for network in trusted)


def client_address(peer: str | None, x_forwarded_for: str | Iterable[str] | None,
                   trusted: Sequence[IPNetwork]) -> IPAddress | None:
    """The client's address: the direct ``peer`` unless it is a trusted proxy, else the first
    untrusted hop of ``X-Forwarded-For`` read right to left (several header lines count as one
    list, in order). When every hop is trusted, the leftmost one; at a malformed hop, the trusted
    hop to its right. ``None`` only when ``peer`` itself is not an IP address (a Unix socket)."""
    current = parse_address(peer)
    if current is None or not x_forwarded_for:
        return current
    lines = [x_forwarded_for] if isinstance(x_forwarded_for, str) else list(x_forwarded_for)
    hops = [hop for line in lines for hop in line.split(",")]
    for raw in reversed(hops):
        if not is_trusted(current, trusted):
            return current
        hop = parse_address(raw)
        if hop is None:
            return current
        current = hop
    return current


class ClientAddressMiddleware:
    """ASGI middleware: ``scope["client"]`` becomes the client's address by :func:`client_address`
    (port 0 when it came from the header), and ``scope["scheme"]`` follows ``X-Forwarded-Proto``
    from a trusted peer. Run the server without its own proxy-header handling (uvicorn:
    ``proxy_headers=False``) so this is the only reading; everything downstream — routes, uvicorn's
    WebSocket log lines — sees the result, since the scope is changed in place."""

    def __init__(self, app: ASGIApp, trusted: Sequence[IPNetwork]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            resolve_scope(scope, self.trusted)
        await self.app(scope, receive, send)


def resolve_scope(scope: Scope, trusted: Sequence[IPNetwork]) -> None:
    """Rewrite an ASGI ``scope``'s ``client`` (and ``scheme``) in place; see :class:`ClientAddressMiddleware`."""
    peer = scope.get("client")
    peer_host = peer[0] if peer else None
    peer_address = parse_address(peer_host)
    if peer_address is None or not is_trusted(peer_address, trusted):
        return
    forwarded: list[str] = []
    proto: str | None = None
    for name, value in scope.get("headers") or ():
        if name == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
        elif name == b"x-forwarded-proto":
            proto = value.decode("latin-1").rsplit(",", 1)[-1].strip().lower()
    address = client_address(peer_host, forwarded, trusted)
    if address is not None and address != peer_address:
        scope["client"] = (str(address), 0)
    if proto in ("http", "https", "ws", "wss"):
        secure = proto in ("https", "wss")
        if scope["type"] == "websocket":
            scope["scheme"] = "wss" if secure else "ws"
        else:
            scope["scheme"] = "https" if secure else "http"
