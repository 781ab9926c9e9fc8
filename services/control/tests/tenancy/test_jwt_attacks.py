"""Every forged, stale or misdirected access token is refused with 401, the JSON error shape and a
Bearer challenge — never accepted, never a 500."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from rest_framework.test import APIClient

from vigia.control.core.choices import Role
from vigia.control.tenancy.keys import private_key_of, public_jwk
from vigia.control.tenancy.models import Organization, SigningKey, User
from vigia.control.tenancy.tokens import issue_access_token

ME = "/api/v1/auth/me"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(user: User, **override: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": settings.VIGIA.jwt_issuer, "aud": settings.VIGIA.jwt_audience, "sub": str(user.id),
              "org": str(user.org_id), "role": user.role, "jti": "a" * 32, "iat": now, "exp": now + 600}
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict[str, Any], key: SigningKey, **headers: Any) -> str:
    return jwt.encode(claims, private_key_of(key), algorithm="RS256", headers={"kid": key.kid, **headers})


def call(token: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(ME)


def assert_refused(response: Any, code: str = "invalid_token") -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == 'Bearer realm="vigia"'
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_well_formed_token_is_accepted(signing_key, viewer):
    assert call(sign(claims_for(viewer), signing_key)).status_code == 200


def test_expired_token_is_refused(signing_key, viewer):
    past = int(time.time()) - 3600
    assert_refused(call(sign(claims_for(viewer, iat=past - 900, exp=past), signing_key)), "token_expired")


def test_tampered_payload_is_refused(signing_key, viewer, admin):
    header, _, signature = sign(claims_for(viewer), signing_key).split(".")
    forged = b64(json.dumps(claims_for(viewer, sub=str(admin.id), role="admin")).encode())
    assert_refused(call(f"{header}.{forged}.{signature}"))


def test_tampered_signature_is_refused(signing_key, viewer):
    token = sign(claims_for(viewer), signing_key)
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[10] != "A" else "B")
    assert_refused(call(f"{head}.{payload}.{signature[:10]}{flipped}{signature[11:]}"))


def test_alg_none_is_refused(signing_key, viewer):
    head = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": signing_key.kid}).encode())
    body = b64(json.dumps(claims_for(viewer)).encode())
    assert_refused(call(f"{head}.{body}."))


def test_hs256_signed_with_the_public_pem_is_refused(signing_key, viewer):
    public_pem = private_key_of(signing_key).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}).encode())
    body = b64(json.dumps(claims_for(viewer)).encode())
    import hmac
    from hashlib import sha256

    mac = hmac.new(public_pem, f"{head}.{body}".encode(), sha256).digest()
    assert_refused(call(f"{head}.{body}.{b64(mac)}"))


def test_hs256_with_a_guessable_secret_is_refused(signing_key, viewer):
    token = jwt.encode(claims_for(viewer), settings.SECRET_KEY, algorithm="HS256",
                       headers={"kid": signing_key.kid})
    assert_refused(call(token))


def test_other_rsa_algorithms_are_refused(signing_key, viewer):
    head = b64(json.dumps({"alg": "PS256", "typ": "JWT", "kid": signing_key.kid}).encode())
    body = b64(json.dumps(claims_for(viewer)).encode())
    signature = private_key_of(signing_key).sign(
        f"{head}.{body}".encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256())
    assert_refused(call(f"{head}.{body}.{b64(signature)}"))


def test_unknown_kid_is_refused(signing_key, viewer):
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims_for(viewer), rogue, algorithm="RS256", headers={"kid": public_jwk(
        rogue.public_key())["kid"]})
    assert_refused(call(token), "unknown_key")


def test_rogue_key_under_our_kid_is_refused(signing_key, viewer):
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims_for(viewer), rogue, algorithm="RS256", headers={"kid": signing_key.kid})
    assert_refused(call(token))


def test_missing_kid_is_refused(signing_key, viewer):
    token = jwt.encode(claims_for(viewer), private_key_of(signing_key), algorithm="RS256")
    assert_refused(call(token))


def test_embedded_jwk_header_is_not_trusted(signing_key, viewer):
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims_for(viewer), rogue, algorithm="RS256",
                       headers={"kid": signing_key.kid, "jwk": public_jwk(rogue.public_key())})
    assert_refused(call(token))


@pytest.mark.parametrize("claim", ["iss", "aud"])
def test_wrong_issuer_or_audience_is_refused(signing_key, viewer, claim):
    assert_refused(call(sign(claims_for(viewer, **{claim: "someone-else"}), signing_key)))


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "org", "role", "jti", "iat", "exp"])
def test_token_missing_a_required_claim_is_refused(signing_key, viewer, claim):
    claims = claims_for(viewer)
    del claims[claim]
    assert_refused(call(sign(claims, signing_key)))


def test_token_of_an_inactive_user_is_refused(api, viewer):
    client = api(viewer)
    viewer.is_active = False
    viewer.save()
    assert_refused(client.get(ME), "user_inactive")


def test_token_of_a_deleted_user_is_refused(api, viewer):
    client = api(viewer)
    viewer.delete()
    assert_refused(client.get(ME), "user_inactive")


def test_token_of_a_user_moved_to_another_org_is_refused(api, viewer):
    client = api(viewer)
    viewer.org = Organization.objects.create(name="New home", slug="new-home")
    viewer.save()
    assert_refused(client.get(ME))


def test_non_uuid_subject_is_refused(signing_key, viewer):
    assert_refused(call(sign(claims_for(viewer, sub="1 OR 1=1"), signing_key)), "user_inactive")


def test_role_comes_from_the_database_not_the_token(signing_key, viewer, api):
    token = issue_access_token(viewer)[0]
    viewer.role = Role.ADMIN
    viewer.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/users/").status_code == 200


def test_token_claiming_admin_role_does_not_grant_it(signing_key, viewer):
    token = sign(claims_for(viewer, role="admin"), signing_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/users/").status_code == 403


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer not.a.jwt", "Bearer ....",
                                    "Bearer " + "a" * 20000,
                                    "Bearer eyJhbGciOiJSUzI1NiJ9.e30"])
def test_garbage_authorization_headers_are_401(signing_key, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_refused(client.get(ME))


def test_other_auth_schemes_are_treated_as_anonymous(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_token_from_a_key_past_its_verification_window_is_refused(signing_key, viewer):
    from datetime import timedelta

    from django.utils import timezone

    token = sign(claims_for(viewer), signing_key)
    SigningKey.objects.filter(pk=signing_key.pk).update(
        retired_at=timezone.now() - timedelta(seconds=settings.VIGIA.refresh_token_ttl + 1))
    assert_refused(call(token), "unknown_key")


def test_a_user_of_another_org_with_a_forged_org_claim_is_refused(signing_key, outsider, org):
    assert_refused(call(sign(claims_for(outsider, org=str(org.id)), signing_key)))
