"""The per-process caches of access-token verification: loaded public keys by kid and already
verified tokens. A key created by another process must verify at once, and a cached retired key
must stop verifying exactly when its window closes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone
from rest_framework.test import APIClient

from vigia.control.tenancy import keys
from vigia.control.tenancy.models import SigningKey, User
from vigia.control.tenancy.tokens import issue_access_token

ME = "/api/v1/auth/me"


def me(token: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(ME)


def test_a_key_stored_by_another_process_verifies_at_once(signing_key: SigningKey, viewer: User) -> None:
    token, _ = issue_access_token(viewer)
    assert me(token).status_code == 200  # the cache now holds the current keys
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = keys.public_jwk(other.public_key())
    # Inserted directly, as another process would: this process's cache is not told.
    SigningKey.objects.create(kid=jwk["kid"], private_key_encrypted="unused", public_jwk=jwk)
    claims = jwt.decode(token, options={"verify_signature": False})
    foreign = jwt.encode(claims, other, algorithm="RS256", headers={"kid": jwk["kid"]})
    assert me(foreign).status_code == 200


def test_cached_retired_key_stops_verifying_when_its_window_closes(signing_key: SigningKey) -> None:
    keys.rotate_signing_key()
    assert keys.verifying_public_key(signing_key.kid) is not None
    later = timezone.now() + keys.verification_window() + timedelta(seconds=1)
    assert keys.verifying_public_key(signing_key.kid, now=later) is None

