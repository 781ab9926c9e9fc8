"""Identifiers: UUIDv7 (RFC 9562), time-ordered so they double as idempotency keys and index well."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """A UUIDv7: 48-bit Unix milliseconds, then a 12-bit counter (monotonic within a millisecond
    in this process, method 1 of RFC 9562 §6.2), then 62 random bits."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)


def uuid7_time_ms(value: uuid.UUID) -> int:
    """The Unix time in milliseconds carried by a UUIDv7."""
    if value.version != 7:
        raise ValueError(f"{value} is not a UUIDv7")
    return value.int >> 80


def uuid7_of(time_ns: int, key: str) -> uuid.UUID:
    """A UUIDv7 whose time is ``time_ns`` (ms precision) and whose other bits hash ``key``: what a
    worker derives twice from the same input -- a message redelivered after a crash and handled
    again -- gets the same id, so the copy is stored once (consumers dedupe by message id)."""
    ms = (time_ns // 1_000_000) & ((1 << 48) - 1)
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=10).digest(), "big")
    rand_a = digest >> 68 & 0xFFF
    rand_b = digest & ((1 << 62) - 1)
    return uuid.UUID(int=ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b)
