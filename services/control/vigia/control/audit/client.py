"""The client address of a request to the control plane, by :mod:`vigia.common.client_address`.

The one way control reads where a request came from: sign-in lock-outs and the audit log both
call :func:`request_client_address`, never ``REMOTE_ADDR`` or ``X-Forwarded-For`` themselves.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from vigia.common.client_address import IPNetwork, client_address
from vigia.control.config import get_settings

# A WSGI environ extension key (PEP 3333): computed once per request, shared by view and middleware.
ENVIRON_KEY = "vigia.client_address"


@lru_cache(maxsize=1)
def trusted_proxies() -> tuple[IPNetwork, ...]:
    """``VIGIA_TRUSTED_PROXIES`` of this process."""
    return get_settings().trusted_proxy_networks


def request_client_address(request: Any) -> str | None:
    """The client's IP address as text (a Django ``HttpRequest`` or a DRF ``Request``), or None when
    the peer is not an IP address."""
    meta = request.META
    if ENVIRON_KEY not in meta:
        address = client_address(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"), trusted_proxies())
        meta[ENVIRON_KEY] = None if address is None else str(address)
    return meta[ENVIRON_KEY]
