"""An organization's channels as the notifier reads them: decrypted, validated, cached briefly."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import orjson
from psycopg_pool import AsyncConnectionPool

from vigia.common.channels import ChannelConfig, ChannelKind, channel_kind
from vigia.common.secrets_at_rest import decrypt


@dataclass(frozen=True)
class Channel:
    """A channel row with its config decrypted and validated by its kind's model."""

    id: uuid.UUID
    org: uuid.UUID
    kind: ChannelKind
    name: str
    config: ChannelConfig
    enabled: bool


class ChannelDirectory:
    """Reads channels by (org, id); a row is reused for ``ttl_s`` (a disabled or edited channel
    takes effect within that time). Another organization's channel is simply not found."""

    def __init__(self, pool: AsyncConnectionPool, fernet_keys: str, ttl_s: float) -> None:
        self.pool = pool
        self.fernet_keys = fernet_keys
        self.ttl_s = ttl_s
        self._cache: dict[tuple[uuid.UUID, uuid.UUID], tuple[float, Channel | None]] = {}

    async def get(self, org: uuid.UUID, channel: uuid.UUID) -> Channel | None:
        now = time.monotonic()
        cached = self._cache.get((org, channel))
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.pool.connection() as conn:
            row = await (await conn.execute(
                "SELECT kind, name, config_encrypted, enabled FROM notification_channels "
                "WHERE id = %s AND org_id = %s", (channel, org))).fetchone()
        found = None
        if row is not None:
            kind = channel_kind(row[0])
            config = kind.config.model_validate(orjson.loads(decrypt(row[2], self.fernet_keys)))
            found = Channel(id=channel, org=org, kind=kind, name=row[1], config=config, enabled=row[3])
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(org, channel)] = (now + self.ttl_s, found)
        return found
