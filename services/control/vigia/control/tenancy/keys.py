"""Signing keys of access tokens: creation, rotation, lookup by ``kid`` and the JWKS document.

Which key signs is always read from the database (so a rotation made by a management command
applies at once in every process). Verification reads keys from a per-process cache of loaded
public keys by ``kid`` (:data:`VERIFY_CACHE_TTL` seconds): an unknown ``kid`` reloads it at once,
so a key created elsewhere verifies immediately, and the verification window is checked against
the cached ``retired_at`` on every call, so a retired key stops verifying exactly when its window
closes. Deleting a key (emergency revocation) takes effect in other processes within the TTL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from vigia.control.core import crypto
from vigia.control.tenancy.models import SigningKey

KEY_BITS = 2048
ALGORITHM = "RS256"
_CREATE_LOCK = 0x76696B6579  # pg advisory lock id ("vikey"): one process creates the first key
VERIFY_CACHE_TTL = 60.0  # seconds a process trusts its cached verifying keys before re-reading them


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """The RFC 7517 JWK of an RSA public key, ``kid`` set to its RFC 7638 thumbprint."""
    numbers = public_key.public_numbers()
    jwk = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode("ascii")
    return {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}


def verification_window() -> timedelta:
    """How long a retired key still verifies: longer than any token it signed can live."""
    return timedelta(seconds=settings.VIGIA.refresh_token_ttl)


def create_signing_key(private_key: rsa.RSAPrivateKey | None = None) -> SigningKey:
    """Store a new key pair (generated unless given); it does not retire the others."""
    private_key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    if private_key.key_size < KEY_BITS:
        raise ValueError(f"signing keys must have at least {KEY_BITS} bits")
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
    jwk = public_jwk(private_key.public_key())
    key = SigningKey.objects.create(kid=jwk["kid"], private_key_encrypted=crypto.encrypt(pem),
                                    public_jwk=jwk)
    _forget_verifying_keys()
    return key


def active_signing_key() -> SigningKey:
    """The key that signs new tokens: the newest unretired one, created on first use."""
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
    if key is not None:
        return key
    with transaction.atomic():
        with connection.cursor() as cursor:  # two processes starting at once create one key
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CREATE_LOCK])
        key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
        return key if key is not None else create_signing_key()


def rotate_signing_key(private_key: rsa.RSAPrivateKey | None = None) -> tuple[SigningKey, list[str]]:
    """Make a new key the signing one and retire the others; returns it and the retired kids.

    Retired keys keep verifying for :func:`verification_window`, so issued tokens stay valid.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CREATE_LOCK])
        now = timezone.now()
        previous = list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
        SigningKey.objects.filter(pk__in=[k.pk for k in previous]).update(retired_at=now)
        key = create_signing_key(private_key)  # also forgets the cached verifying keys
    return key, [k.kid for k in previous]


def verifying_keys(now: datetime | None = None) -> QuerySet[SigningKey]:
    """Keys whose signatures are still accepted: unretired, or retired within the window."""
    now = now or timezone.now()
    cutoff = now - verification_window()
    return SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(retired_at__gt=cutoff))


def expired_keys(now: datetime | None = None) -> QuerySet[SigningKey]:
    """Retired keys that no longer verify anything and can be deleted."""
    now = now or timezone.now()
    return SigningKey.objects.filter(retired_at__lte=now - verification_window())


@dataclass(frozen=True)
class _Verifier:
    public_key: rsa.RSAPublicKey
    retired_at: datetime | None


class _VerifierCache:
    """Loaded public keys of every verifying key, by ``kid``, re-read at most every TTL seconds
    or at once when a ``kid`` is missing. Swapped whole under a lock: readers never see a half."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_kid: dict[str, _Verifier] = {}
        self._loaded_at = float("-inf")

    def get(self, kid: str) -> _Verifier | None:
        if time.monotonic() - self._loaded_at > VERIFY_CACHE_TTL or kid not in self._by_kid:
            self._reload()
        return self._by_kid.get(kid)

    def _reload(self) -> None:
        with self._lock:
            rows = verifying_keys().values_list("kid", "public_jwk", "retired_at")
            self._by_kid = {kid: _Verifier(_load_public(json.dumps(jwk, sort_keys=True)), retired_at)
                            for kid, jwk, retired_at in rows}
            self._loaded_at = time.monotonic()

    def clear(self) -> None:
        with self._lock:
            self._by_kid = {}
            self._loaded_at = float("-inf")


_verifiers = _VerifierCache()


def _forget_verifying_keys() -> None:
    # Now for this transaction's own reads, and after commit for the other threads of the process.
    _verifiers.clear()
    transaction.on_commit(_verifiers.clear)


def verifying_public_key(kid: str, now: datetime | None = None) -> rsa.RSAPublicKey | None:
    """The public key for ``kid`` if that key still verifies, else ``None`` (cached per process;
    the window of a retired key is checked on every call)."""
    verifier = _verifiers.get(kid)
    if verifier is None:
        return None
    retired_at = verifier.retired_at
    if retired_at is not None and retired_at <= (now or timezone.now()) - verification_window():
        return None
    return verifier.public_key


def private_key_of(key: SigningKey) -> rsa.RSAPrivateKey:
    """The decrypted private key of ``key`` (cached per process by ciphertext)."""
    return _load_private(key.private_key_encrypted)


def jwks() -> dict[str, Any]:
    """The JWKS document: public keys of every key that still verifies, signing key first."""
    active_signing_key()
    keys = verifying_keys().order_by(F("retired_at").desc(nulls_first=True), "-created_at")
    return {"keys": [key.public_jwk for key in keys]}


@lru_cache(maxsize=32)
def _load_private(encrypted: str) -> rsa.RSAPrivateKey:
    loaded = serialization.load_pem_private_key(crypto.decrypt(encrypted).encode("ascii"), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise TypeError("signing key is not RSA")
    return loaded


@lru_cache(maxsize=64)
def _load_public(jwk_json: str) -> rsa.RSAPublicKey:
    jwk = json.loads(jwk_json)

    def uint(field: str) -> int:
        data = jwk[field]
        return int.from_bytes(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)), "big")

    return rsa.RSAPublicNumbers(e=uint("e"), n=uint("n")).public_key()
