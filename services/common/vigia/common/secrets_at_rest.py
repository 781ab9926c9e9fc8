"""Secrets at rest for data-plane services: MultiFernet decryption with a comma-separated key list.

The control plane encrypts secrets (cameras' RTSP URLs) with the keys of ``VIGIA_FERNET_KEYS``:
the first key encrypts, every key decrypts, so rotation prepends a key. Services that read those
columns (the streamer) decrypt with the same key string, passed in from their settings; this
module reads no configuration itself.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import Field, SecretStr

__all__ = ["DEV_FERNET_KEY", "InvalidToken", "decrypt", "encrypt", "fernet_keys_field", "holds_dev_key",
           "multifernet"]

# The well-known development key: fine on a laptop, refused in production by every service.
DEV_FERNET_KEY = "ZGV2LW9ubHktZmVybmV0LWtleS0zMi1ieXRlcy0hISE="


def fernet_keys_field() -> Any:
    """The ``fernet_keys`` settings field, declared once for every service that reads it."""
    return Field(
        SecretStr(DEV_FERNET_KEY),
        description="Comma-separated Fernet keys for secrets at rest (RTSP URLs, signing keys); the first "
        "encrypts, all decrypt (MultiFernet rotation: prepend a new key, run `rotate_fernet`, drop the old).",
    )


def holds_dev_key(keys: SecretStr) -> bool:
    return DEV_FERNET_KEY in [k.strip() for k in keys.get_secret_value().split(",")]


@lru_cache(maxsize=8)
def multifernet(keys: str) -> MultiFernet:
    """The MultiFernet of a comma-separated list of url-safe base64 keys (blank items ignored).

    Raises ValueError when the list holds no key or a key is malformed."""
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise ValueError("the Fernet key list holds no key")
    return MultiFernet([Fernet(k.encode()) for k in parts])


def decrypt(token: str, keys: str) -> str:
    """Decrypt a Fernet token with any of ``keys``; raises :class:`InvalidToken` if none opens it
    or it was tampered with."""
    return multifernet(keys).decrypt(token.encode("ascii")).decode()


def encrypt(plaintext: str, keys: str) -> str:
    """Encrypt with the first of ``keys`` (tests and tools; the control plane owns encryption)."""
    return multifernet(keys).encrypt(plaintext.encode()).decode("ascii")
