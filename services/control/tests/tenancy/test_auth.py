"""Sign-in: login, access-token contents, refresh rotation and reuse detection, logout, me."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from vigia.control.tenancy.models import RefreshToken, SigningKey

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Iterator[None]:
    cache.clear()  # failed-login counters live in the cache, not in the rolled-back database
    yield
    cache.clear()

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


def login(email: str, password: str) -> Any:
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json")


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_login_returns_token_pair_and_user(operator, user_password):
    response = login(operator.email, user_password)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["refresh"] and body["access"]
    assert body["user"]["email"] == operator.email
    assert body["user"]["role"] == "operator"
    assert body["user"]["org"]["slug"] == "acme"
    operator.refresh_from_db()
    assert operator.last_login is not None


def test_login_email_is_case_insensitive(operator, user_password):
    assert login(operator.email.upper(), user_password).status_code == 200


def test_wrong_password_and_unknown_email_answer_the_same_401(operator, user_password):
    wrong = login(operator.email, "not-the-right-password-1")
    unknown = login("nobody@acme.example.com", user_password)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    assert wrong["WWW-Authenticate"] == unknown["WWW-Authenticate"]


def test_inactive_user_cannot_log_in_and_gets_the_generic_answer(make_user, user_password):
    user = make_user(is_active=False)
    response = login(user.email, user_password)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "invalid email or password"


def test_repeated_failures_are_throttled(operator, user_password):
    for _ in range(10):
        assert login(operator.email, "wrong-password-wrong").status_code == 401
    response = login(operator.email, user_password)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert login(operator.email.replace("operator", "other"), user_password).status_code == 401


def test_access_token_carries_claims_and_kid_of_the_active_key(admin, user_password):
    body = login(admin.email, user_password).json()
    header = jwt.get_unverified_header(body["access"])
    key = SigningKey.objects.get(retired_at__isnull=True)
    assert header["alg"] == "RS256"
    assert header["kid"] == key.kid
    claims = jwt.decode(body["access"], options={"verify_signature": False})
    assert claims["iss"] == settings.VIGIA.jwt_issuer
    assert claims["aud"] == settings.VIGIA.jwt_audience
    assert claims["sub"] == str(admin.id)
    assert claims["org"] == str(admin.org_id)
    assert claims["role"] == "admin"
    assert claims["exp"] - claims["iat"] == 900
    assert len(claims["jti"]) == 32


def test_access_token_verifies_with_the_published_jwks(admin, user_password):
    access = login(admin.email, user_password).json()["access"]
    document = APIClient().get("/.well-known/jwks.json").json()
    jwk = next(k for k in document["keys"] if k["kid"] == jwt.get_unverified_header(access)["kid"])
    public = jwt.PyJWK(jwk).key
    claims = jwt.decode(access, public, algorithms=["RS256"], audience=settings.VIGIA.jwt_audience)
    assert claims["sub"] == str(admin.id)
    assert public.key_size >= 2048


def test_first_login_creates_the_signing_key_lazily(admin, user_password):
    assert not SigningKey.objects.exists()
    assert login(admin.email, user_password).status_code == 200
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1


def test_private_key_is_encrypted_at_rest(admin, user_password):
    login(admin.email, user_password)
    key = SigningKey.objects.get()
    assert "PRIVATE KEY" not in key.private_key_encrypted
    assert set(key.public_jwk) >= {"kty", "n", "e", "kid", "alg", "use"}
    assert "d" not in key.public_jwk


def test_me_returns_the_caller(api, viewer):
    response = api(viewer).get(ME)
    assert response.status_code == 200
    assert response.json()["id"] == str(viewer.id)


def test_me_without_token_is_401_with_challenge(api):
    response = api().get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


def test_refresh_rotates_the_pair(operator, user_password):
    first = login(operator.email, user_password).json()
    response = APIClient().post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["refresh"] != first["refresh"]
    assert second["access"] != first["access"]
    assert bearer(second["access"]).get(ME).status_code == 200
    old = RefreshToken.objects.get(used_at__isnull=False)
    new = RefreshToken.objects.get(used_at__isnull=True)
    assert new.family == old.family and new.parent_id == old.id
    assert first["refresh"] not in (old.token_hash, new.token_hash)  # stored hashed only


def test_reused_refresh_token_revokes_the_whole_family(operator, user_password):
    first = login(operator.email, user_password).json()["refresh"]
    second = APIClient().post(REFRESH, {"refresh": first}, format="json").json()["refresh"]
    reuse = APIClient().post(REFRESH, {"refresh": first}, format="json")
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "token_reused"
    assert reuse["WWW-Authenticate"].startswith("Bearer")
    # The legitimate-looking newer token is dead too: the attacker or the victim holds it.
    after = APIClient().post(REFRESH, {"refresh": second}, format="json")
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "token_revoked"
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()


def test_reuse_in_one_family_leaves_other_logins_alone(operator, user_password):
    laptop = login(operator.email, user_password).json()["refresh"]
    phone = login(operator.email, user_password).json()["refresh"]
    APIClient().post(REFRESH, {"refresh": laptop}, format="json")
    APIClient().post(REFRESH, {"refresh": laptop}, format="json")
    assert APIClient().post(REFRESH, {"refresh": phone}, format="json").status_code == 200


def test_unknown_refresh_token_is_401(db):
    response = APIClient().post(REFRESH, {"refresh": "not-a-token"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_expired_refresh_token_is_401(operator, user_password):
    from datetime import timedelta

    from django.utils import timezone

    raw = login(operator.email, user_password).json()["refresh"]
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = APIClient().post(REFRESH, {"refresh": raw}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_refresh_of_a_deactivated_user_is_401(operator, user_password):
    raw = login(operator.email, user_password).json()["refresh"]
    operator.is_active = False
    operator.save()
    assert APIClient().post(REFRESH, {"refresh": raw}, format="json").status_code == 401


def test_logout_revokes_the_family(operator, user_password):
    first = login(operator.email, user_password).json()["refresh"]
    second = APIClient().post(REFRESH, {"refresh": first}, format="json").json()["refresh"]
    response = APIClient().post(LOGOUT, {"refresh": second}, format="json")
    assert response.status_code == 204
    assert APIClient().post(REFRESH, {"refresh": second}, format="json").status_code == 401
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()


def test_logout_with_unknown_token_is_idempotent_204(db):
    assert APIClient().post(LOGOUT, {"refresh": "whatever"}, format="json").status_code == 204


def test_malformed_json_is_400_json(db):
    response = APIClient().post(LOGIN, data='{"email": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed"


def test_unknown_field_is_400_naming_it(db):
    response = APIClient().post(LOGIN, {"email": "a@b.co", "password": "x", "remember": True},
                                format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["remember"] == ["unknown field"]


def test_missing_fields_are_named(db):
    response = APIClient().post(LOGIN, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"email", "password"}


def test_non_object_body_is_400(db):
    response = APIClient().post(LOGIN, [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_stale_bearer_header_does_not_block_login(operator, user_password):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert client.post(LOGIN, {"email": operator.email, "password": user_password},
                       format="json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_let_exactly_one_through(operator, user_password):
    import threading

    from django.db import connection

    raw = login(operator.email, user_password).json()["refresh"]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def spend() -> None:
        try:
            barrier.wait()
            statuses.append(APIClient().post(REFRESH, {"refresh": raw}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The loser is a reuse: the family (including the winner's new token) is revoked.
    assert sorted(statuses) == [200, 401]
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()
