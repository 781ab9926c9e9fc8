"""Who is pushing, and to which camera: device tokens and camera ownership, cached in-process.

The hot path must not ask PostgreSQL once per frame (a camera at 25 fps would mean 25 queries a
second for the same answer), so both lookups are cached:

* a verified device token is trusted for ``device_cache_s`` (default 15 s): revoking a token takes
  effect on every gateway within that time. Refused tokens are remembered for a shorter time
  (at most 5 s) so a client retrying a bad token cannot make every request a database query.
* a camera's organization is cached for ``camera_cache_s``; an unknown camera for at most 5 s,
  so a camera created a moment ago is found quickly.

Database calls are synchronous SQLAlchemy, run in a worker thread so the event loop never blocks.
Tokens are cached by their SHA-256, never in clear.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import anyio.to_thread
from sqlalchemy import Engine, select

from vigia.common.auth import DeviceIdentity, DeviceTokenVerifier, InvalidToken, hash_device_token
from vigia.common.db import cameras

NEGATIVE_TTL_CAP_S = 5.0
MAX_ENTRIES = 100_000  # bounds memory when clients send many distinct junk tokens or camera ids


K = TypeVar("K")
V = TypeVar("V")


class _TtlCache(Generic[K, V]):
    """A dict whose entries expire; cleared wholesale when it grows past ``MAX_ENTRIES``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._entries: dict[K, tuple[float, V]] = {}
        self._clock = clock

    def get(self, key: K) -> tuple[bool, V | None]:
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if entry[0] <= self._clock():
            self._entries.pop(key, None)
            return False, None
        return True, entry[1]

    def put(self, key: K, value: V, ttl: float) -> None:
        if ttl <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (self._clock() + ttl, value)


class DeviceAuthenticator:
    """Device tokens verified against ``device_credentials``, with the cache described above."""

    def __init__(self, engine: Engine, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._verifier = DeviceTokenVerifier(engine)
        self._ttl = ttl_s
        self._negative_ttl = min(ttl_s, NEGATIVE_TTL_CAP_S)
        self._cache: _TtlCache[str, DeviceIdentity | str] = _TtlCache(clock)

    async def authenticate(self, token: str) -> DeviceIdentity:
        """The device behind ``token``; raises :class:`InvalidToken` (reason safe to show)."""
        key = hash_device_token(token)
        hit, cached = self._cache.get(key)
        if hit:
            if isinstance(cached, DeviceIdentity):
                return cached
            raise InvalidToken(str(cached))
        try:
            identity = await anyio.to_thread.run_sync(self._verifier.verify, token)
        except InvalidToken as exc:
            self._cache.put(key, exc.reason, self._negative_ttl)
            raise
        self._cache.put(key, identity, self._ttl)
        return identity


class CameraDirectory:
    """Which organization owns a camera (``None``: no such camera) and whether it is enabled,
    cached as described above."""

    def __init__(self, engine: Engine, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._ttl = ttl_s
        self._negative_ttl = min(ttl_s, NEGATIVE_TTL_CAP_S)
        self._cache: _TtlCache[uuid.UUID, tuple[uuid.UUID, bool] | None] = _TtlCache(clock)

    async def owner(self, camera: uuid.UUID) -> uuid.UUID | None:
        """The org id of ``camera``, or None when it does not exist."""
        found = await self._find(camera)
        return None if found is None else found[0]

    async def enabled(self, camera: uuid.UUID) -> bool:
        """Whether ``camera`` exists and is enabled."""
        found = await self._find(camera)
        return found is not None and found[1]

    async def _find(self, camera: uuid.UUID) -> tuple[uuid.UUID, bool] | None:
        hit, found = self._cache.get(camera)
        if hit:
            return found
        found = await anyio.to_thread.run_sync(self._lookup, camera)
        self._cache.put(camera, found, self._ttl if found is not None else self._negative_ttl)
        return found

    def _lookup(self, camera: uuid.UUID) -> tuple[uuid.UUID, bool] | None:
        with self._engine.connect() as conn:
            row: Any = conn.execute(select(cameras.c.org_id, cameras.c.enabled).where(cameras.c.id == camera)).first()
        return None if row is None else (row.org_id, bool(row.enabled))
