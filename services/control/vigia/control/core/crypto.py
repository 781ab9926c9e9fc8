"""Secrets at rest: MultiFernet over the keys of ``VIGIA_FERNET_KEYS``.

The first key encrypts; every key decrypts, so a key is rotated by prepending a new one, running
:func:`rotate` over the stored tokens, then dropping the old key. Tokens are ASCII strings, ready
for a ``TextField``.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings

from vigia.common.secrets_at_rest import multifernet

__all__ = ["InvalidToken", "decrypt", "encrypt", "rotate"]


def _configured_keys() -> str:
    # An explicit Django setting wins so tests and tools can swap keys without touching the env.
    override = getattr(settings, "VIGIA_FERNET_KEYS", None)
    if override:
        return str(override)
    return settings.VIGIA.fernet_keys.get_secret_value()


def _fernet() -> MultiFernet:
    return multifernet(_configured_keys())


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` with the first configured key; returns a Fernet token."""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt a token made by :func:`encrypt` with any configured key.

    Raises :class:`cryptography.fernet.InvalidToken` if no key opens it or it was tampered with.
    """
    return _fernet().decrypt(token.encode("ascii")).decode()


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the first (newest) key, keeping its original timestamp."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")
