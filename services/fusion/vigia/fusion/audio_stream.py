"""Each phone's audio, kept briefly in Redis for the evidence builder: stream ``device:{id}:audio``
with fields ``t`` (ns of the chunk's first sample), ``rate`` (Hz) and ``pcm`` (PCM16 LE mono),
trimmed to about ``maxlen`` entries (XADD MAXLEN ~)."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from vigia.common.leases import device_audio_key

audio_stream_key = device_audio_key


class AudioStreams:
    def __init__(self, redis: Redis, maxlen: int = 600) -> None:
        self.redis = redis
        self.maxlen = maxlen

    async def append(self, device: uuid.UUID, timestamp_ns: int, sample_rate: int, pcm: bytes, *,
                     check_duplicate: bool = False) -> bool:
        """Add one chunk; with ``check_duplicate`` (a redelivered message) a chunk whose ``t`` is
        among the stream's newest entries is not added again. True if it was added."""
        key = audio_stream_key(device)
        t = str(timestamp_ns).encode()
        if check_duplicate:
            for _, fields in await self.redis.xrevrange(key, count=64) or []:
                if fields and fields.get(b"t") == t:
                    return False
        await self.redis.xadd(key, {"t": t, "rate": str(sample_rate), "pcm": pcm},
                              maxlen=self.maxlen, approximate=True)
        return True

    async def ping(self) -> bool:
        return bool(await self.redis.ping())
