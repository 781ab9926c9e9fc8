"""The refresh token as an httpOnly cookie for browser clients (``X-Vigia-Session: cookie``), and
JSON clients unchanged beside it."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from vigia.control.tenancy.models import RefreshToken
from vigia.control.tenancy.refresh_cookie import COOKIE_NAME, COOKIE_PATH

pytestmark = pytest.mark.django_db(transaction=False)

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
COOKIE_HEADER = {"HTTP_X_VIGIA_SESSION": "cookie"}


def cookie_login(client: APIClient, email: str, password: str) -> Any:
    return client.post(LOGIN, {"email": email, "password": password}, format="json", **COOKIE_HEADER)


def test_cookie_login_puts_the_refresh_token_in_an_httponly_strict_cookie_not_the_body(
        operator, user_password, signing_key):
    client = APIClient()
    response = cookie_login(client, operator.email, user_password)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access"] and body["user"]["email"] == operator.email
    assert "refresh" not in body
    cookie = response.cookies[COOKIE_NAME]
    assert cookie.value
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == COOKIE_PATH
    assert int(cookie["max-age"]) == 86400
    assert RefreshToken.objects.filter(user=operator, revoked_at__isnull=True).count() == 1


def test_cookie_refresh_rotates_the_cookie_and_a_replayed_cookie_revokes_the_family(
        operator, user_password, signing_key):
    client = APIClient()
    first = cookie_login(client, operator.email, user_password).cookies[COOKIE_NAME].value
    refreshed = client.post(REFRESH, {}, format="json", **COOKIE_HEADER)
    assert refreshed.status_code == 200, refreshed.content
    assert "refresh" not in refreshed.json() and refreshed.json()["access"]
    second = refreshed.cookies[COOKIE_NAME].value
    assert second and second != first

    replay = APIClient()
    replay.cookies[COOKIE_NAME] = first
    reused = replay.post(REFRESH, {}, format="json", **COOKIE_HEADER)
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "token_reused"
    assert reused.cookies[COOKIE_NAME].value == ""  # the browser is told to drop it
    # The family is gone: the legitimate browser's newer cookie no longer works either.
    assert client.post(REFRESH, {}, format="json", **COOKIE_HEADER).status_code == 401


# A 4xx of the non-atomic refresh view marks the test's own transaction for rollback (DRF's
# set_rollback): this test runs in real transactions to read the database afterwards.
@pytest.mark.django_db(transaction=True)
def test_the_cookie_is_ignored_without_the_opt_in_header(operator, user_password, signing_key):
    """A cross-site form cannot add the header, so it cannot spend the cookie."""
    client = APIClient()
    cookie_login(client, operator.email, user_password)
    response = client.post(REFRESH, {}, format="json")
    assert response.status_code == 400
    assert "refresh" in response.json()["error"]["fields"]
    assert RefreshToken.objects.filter(user=operator, used_at__isnull=False).count() == 0
    assert client.post(REFRESH, {}, format="json", **COOKIE_HEADER).status_code == 200  # still unspent


def test_cookie_logout_revokes_the_family_and_clears_the_cookie(operator, user_password, signing_key):
    client = APIClient()
    cookie_login(client, operator.email, user_password)
    response = client.post(LOGOUT, {}, format="json", **COOKIE_HEADER)
    assert response.status_code == 204
    assert response.cookies[COOKIE_NAME].value == ""
    assert int(response.cookies[COOKIE_NAME]["max-age"]) == 0
    assert not RefreshToken.objects.filter(user=operator, revoked_at__isnull=True).exists()
    # Logging out again (no cookie left) is still a 204.
    assert APIClient().post(LOGOUT, {}, format="json", **COOKIE_HEADER).status_code == 204


def test_json_clients_keep_the_token_in_the_body_and_get_no_cookie(operator, user_password, signing_key):
    client = APIClient()
    login = client.post(LOGIN, {"email": operator.email, "password": user_password}, format="json")
    assert login.status_code == 200
    assert COOKIE_NAME not in login.cookies
    refreshed = client.post(REFRESH, {"refresh": login.json()["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh"] and COOKIE_NAME not in refreshed.cookies
    assert client.post(LOGOUT, {"refresh": refreshed.json()["refresh"]}, format="json").status_code == 204
    missing = client.post(LOGOUT, {}, format="json")  # last: a 4xx ends the test's transaction
    assert missing.status_code == 400 and "refresh" in missing.json()["error"]["fields"]
