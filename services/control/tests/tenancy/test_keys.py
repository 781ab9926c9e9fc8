"""Signing-key rotation: new tokens carry the new kid, old tokens stay valid until their key's
verification window closes, and the JWKS publishes exactly the keys that still verify."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from vigia.control.core import crypto
from vigia.control.tenancy import keys
from vigia.control.tenancy.models import SigningKey

JWKS = "/.well-known/jwks.json"
ME = "/api/v1/auth/me"


def login(email: str, password: str) -> dict:
    response = APIClient().post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def me(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME).status_code


def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(operator, user_password):
    before = login(operator.email, user_password)["access"]
    old_kid = jwt.get_unverified_header(before)["kid"]
    out = StringIO()
    call_command("rotate_signing_key", stdout=out)
    new_kid = SigningKey.objects.get(retired_at__isnull=True).kid
    assert new_kid != old_kid
    assert f"signing key: {new_kid}" in out.getvalue() and old_kid in out.getvalue()
    after = login(operator.email, user_password)["access"]
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    assert me(before) == 200
    assert me(after) == 200
    published = [k["kid"] for k in APIClient().get(JWKS).json()["keys"]]
    assert published == [new_kid, old_kid]  # signing key first


def test_retired_key_stops_verifying_after_its_window(operator, user_password):
    before = login(operator.email, user_password)["access"]
    keys.rotate_signing_key()
    SigningKey.objects.filter(retired_at__isnull=False).update(
        retired_at=timezone.now() - timedelta(seconds=settings.VIGIA.refresh_token_ttl + 1))
    assert me(before) == 401
    published = [k["kid"] for k in APIClient().get(JWKS).json()["keys"]]
    assert published == [SigningKey.objects.get(retired_at__isnull=True).kid]


def test_prune_deletes_only_keys_past_their_window(db):
    first = keys.active_signing_key()
    keys.rotate_signing_key()
    second = SigningKey.objects.get(retired_at__isnull=True)
    SigningKey.objects.filter(pk=first.pk).update(
        retired_at=timezone.now() - timedelta(seconds=settings.VIGIA.refresh_token_ttl + 1))
    call_command("rotate_signing_key", "--prune", stdout=StringIO())
    remaining = set(SigningKey.objects.values_list("kid", flat=True))
    assert first.kid not in remaining and second.kid in remaining
    assert len(remaining) == 2


def test_jwks_is_public_cacheable_and_has_no_private_parts(db):
    response = APIClient().get(JWKS)
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"]
    (key,) = response.json()["keys"]
    assert {"kty": "RSA", "alg": "RS256", "use": "sig"}.items() <= key.items()
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_jwks_ignores_a_bearer_header(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert client.get(JWKS).status_code == 200


def test_only_one_key_signs_at_a_time(db):
    keys.active_signing_key()
    keys.rotate_signing_key()
    keys.rotate_signing_key()
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1
    assert SigningKey.objects.count() == 3


def test_kid_is_the_rfc7638_thumbprint():
    # The example key and thumbprint of RFC 7638 section 3.1.
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKR"
         "XjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAt"
         "aSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPk"
         "sINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    key = jwt.PyJWK({"kty": "RSA", "n": n, "e": "AQAB"}).key
    assert keys.public_jwk(key)["kid"] == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_keys_smaller_than_2048_bits_are_refused(db):
    with pytest.raises(ValueError, match="2048"):
        keys.create_signing_key(rsa.generate_private_key(public_exponent=65537, key_size=1024))


def test_signing_key_survives_fernet_key_rotation(settings, operator, user_password):
    old = login(operator.email, user_password)["access"]
    current = settings.VIGIA.fernet_keys.get_secret_value()
    settings.VIGIA_FERNET_KEYS = f"{Fernet.generate_key().decode()},{current}"
    for key in SigningKey.objects.all():
        key.private_key_encrypted = crypto.rotate(key.private_key_encrypted)
        key.save()
    settings.VIGIA_FERNET_KEYS = settings.VIGIA_FERNET_KEYS.split(",")[0]  # old key dropped
    assert me(old) == 200
    assert me(login(operator.email, user_password)["access"]) == 200


def test_data_plane_verifier_accepts_our_jwks_and_tokens(operator, user_password):
    from vigia.common.auth import parse_jwks

    access = login(operator.email, user_password)["access"]
    published = parse_jwks(APIClient().get(JWKS).json())
    kid = jwt.get_unverified_header(access)["kid"]
    assert kid in published
    claims = jwt.decode(access, published[kid], algorithms=["RS256"], audience=settings.VIGIA.jwt_audience,
                        issuer=settings.VIGIA.jwt_issuer)
    assert claims["sub"] == str(operator.id)
