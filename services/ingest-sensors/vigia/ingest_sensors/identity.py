"""Which device a token speaks for, verified against the database and cached in-process.

A socket authenticates once, but phones reconnect often (and the HTTP fallback authenticates every
request), so a verified token is trusted for ``sensors_device_cache_s`` (default 15 s): revoking a
token stops new sockets and requests within that time. Refused tokens are remembered for at most
5 s, so a client retrying a bad token cannot turn every attempt into a query. Tokens are cached by
their SHA-256, never in clear; the database call runs in a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio.to_thread
from sqlalchemy import Engine

from vigia.common.auth import DeviceIdentity, DeviceTokenVerifier, InvalidToken, hash_device_token

NEGATIVE_TTL_CAP_S = 5.0
MAX_ENTRIES = 100_000  # bounds memory when clients send many distinct junk tokens


class DeviceAuthenticator:
    """Device tokens verified against ``device_credentials``, with the cache described above."""

    def __init__(self, engine: Engine, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._verifier = DeviceTokenVerifier(engine)
        self._ttl = ttl_s
        self._negative_ttl = min(ttl_s, NEGATIVE_TTL_CAP_S)
        self._clock = clock
        self._cache: dict[str, tuple[float, DeviceIdentity | str]] = {}

    async def authenticate(self, token: str) -> DeviceIdentity:
        """The device behind ``token``; raises :class:`InvalidToken` (reason safe to show)."""
        key = hash_device_token(token)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            if isinstance(cached[1], DeviceIdentity):
                return cached[1]
            raise InvalidToken(cached[1])
        try:
            identity = await anyio.to_thread.run_sync(self._verifier.verify, token)
        except InvalidToken as exc:
            self._put(key, exc.reason, self._negative_ttl)
            raise
        self._put(key, identity, self._ttl)
        return identity

    def _put(self, key: str, value: DeviceIdentity | str, ttl: float) -> None:
        if ttl <= 0:
            return
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
        self._cache[key] = (self._clock() + ttl, value)
