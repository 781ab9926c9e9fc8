"""Sign-in lock-outs: per (account, client address) and per client address, in Redis; every sign-in,
failure, lock-out and refusal in the audit log; an admin unlocks a user of their org.

Requests arrive as in production, through a proxy: REMOTE_ADDR is loopback (a trusted proxy by
default) and the proxy appended the client's address to X-Forwarded-For (see
vigia.common.client_address, and tests/security for the same against a running server)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from vigia.control.audit.models import AuditEntry
from vigia.control.tenancy.lockouts import signin_settings

LOGIN = "/api/v1/auth/login"
WRONG = "wrong-password-wrong"
HOME, CAFE, ELSEWHERE = "198.51.100.7", "203.0.113.50", "192.0.2.33"

pytestmark = pytest.mark.django_db


PROXY = "127.0.0.1"


def login(email: str, password: str, address: str = HOME) -> Any:
    """Sign in from the client ``address``, through the proxy."""
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=PROXY,
                            HTTP_X_FORWARDED_FOR=address)


@pytest.fixture
def signin_policy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``signin_policy(signin_max_failures_per_account=3, ...)``: the VIGIA_SIGNIN_* settings of this test."""

    def _set(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"VIGIA_{name.upper()}", str(value))
        signin_settings.cache_clear()

    yield _set
    signin_settings.cache_clear()


def actions(**filters: Any) -> list[tuple[str, int]]:
    return list(AuditEntry.objects.filter(**filters).order_by("id").values_list("action", "status_code"))


def test_a_lock_out_behind_the_proxy_holds_for_that_client_address_only(operator, user_password):
    for _ in range(10):
        assert login(operator.email, WRONG, HOME).status_code == 401
    refused = login(operator.email, user_password, HOME)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 900
    # The owner, somewhere else, still signs in; the attacker's address stays locked.
    assert login(operator.email, user_password, CAFE).status_code == 200
    assert login(operator.email, user_password, HOME).status_code == 429


def test_a_header_from_an_untrusted_peer_does_not_dodge_the_lock_out(operator, user_password, signin_policy):
    signin_policy(signin_max_failures_per_account=3)
    for n in range(3):
        response = APIClient().post(LOGIN, {"email": operator.email, "password": WRONG}, format="json",
                                    REMOTE_ADDR=HOME, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert response.status_code == 401
    assert login(operator.email, user_password, HOME).status_code == 429


def test_one_address_failing_across_accounts_is_locked_out_of_every_account(make_user, operator, user_password,
                                                                           signin_policy):
    signin_policy(signin_max_failures_per_account=10, signin_max_failures_per_address=5)
    victims = [make_user() for _ in range(5)]
    for victim in victims:  # one guess each: no account reaches its own limit
        assert login(victim.email, WRONG, HOME).status_code == 401
    assert login(operator.email, user_password, HOME).status_code == 429
    assert login("nobody@acme.example.com", WRONG, HOME).status_code == 429
    assert login(operator.email, user_password, CAFE).status_code == 200
    assert actions(action="address_locked_out") == [("address_locked_out", 401)]


def test_a_success_clears_the_accounts_failures_from_that_address(operator, user_password, signin_policy):
    signin_policy(signin_max_failures_per_account=3)
    for _ in range(2):
        assert login(operator.email, WRONG).status_code == 401
    assert login(operator.email, user_password).status_code == 200
    for _ in range(2):
        assert login(operator.email, WRONG).status_code == 401
    assert login(operator.email, user_password).status_code == 200


def test_sign_ins_failures_lock_outs_and_refusals_are_audited(api, admin, operator, user_password, signin_policy):
    signin_policy(signin_max_failures_per_account=2)
    assert login(operator.email, user_password).status_code == 200
    assert login(operator.email, WRONG).status_code == 401
    assert login(operator.email, WRONG).status_code == 401
    assert login(operator.email, user_password).status_code == 429
    assert login("nobody@acme.example.com", WRONG, CAFE).status_code == 401
    assert actions(object_id=str(operator.id)) == [
        ("sign_in", 200), ("sign_in_failed", 401), ("sign_in_failed", 401), ("account_locked_out", 401),
        ("sign_in_refused", 429)]
    rows = AuditEntry.objects.filter(object_id=str(operator.id))
    assert {(row.org_id, row.ip, row.object_type) for row in rows} == {(operator.org_id, HOME, "user")}
    assert [row.user_id for row in rows.order_by("id")] == [operator.id, None, None, None, None]
    # An unknown e-mail is recorded too, under no organization.
    assert AuditEntry.objects.get(ip=CAFE).action == "sign_in_failed"
    assert AuditEntry.objects.get(ip=CAFE).org_id is None
    # The org's admin reads them through the API, filtered by event.
    listed = api(admin).get("/api/v1/audit/", {"action": "account_locked_out"}).json()["results"]
    assert [(row["object_id"], row["ip"], row["status_code"]) for row in listed] == [(str(operator.id), HOME, 401)]


def test_an_admin_unlocks_a_user_of_their_org(api, admin, operator, user_password, signin_policy):
    signin_policy(signin_max_failures_per_account=2)
    for address in (HOME, CAFE):
        for _ in range(2):
            login(operator.email, WRONG, address)
        assert login(operator.email, user_password, address).status_code == 429
    assert api(admin).post(f"/api/v1/users/{operator.id}/unlock/").status_code == 204
    assert login(operator.email, user_password, HOME).status_code == 200
    assert login(operator.email, user_password, CAFE).status_code == 200
    (entry,) = AuditEntry.objects.filter(action="user_unlocked")
    assert (entry.user_id, entry.org_id, entry.object_id, entry.status_code) == (
        admin.id, admin.org_id, str(operator.id), 204)


def test_an_unlock_starts_the_count_afresh(api, admin, operator, user_password, signin_policy):
    signin_policy(signin_max_failures_per_account=2)
    login(operator.email, WRONG)
    assert api(admin).post(f"/api/v1/users/{operator.id}/unlock/").status_code == 204
    login(operator.email, WRONG)
    assert login(operator.email, user_password).status_code == 200


def test_only_an_admin_of_the_users_org_may_unlock(api, operator, viewer, outsider, user_password, signin_policy):
    signin_policy(signin_max_failures_per_account=2)
    for _ in range(2):
        login(viewer.email, WRONG)
    assert api(operator).post(f"/api/v1/users/{viewer.id}/unlock/").status_code == 403
    assert api(outsider).post(f"/api/v1/users/{viewer.id}/unlock/").status_code == 404
    assert api().post(f"/api/v1/users/{viewer.id}/unlock/").status_code == 401
    assert login(viewer.email, user_password).status_code == 429
    assert not AuditEntry.objects.filter(action="user_unlocked").exists()


@pytest.fixture
def redis_down(settings: Any) -> Iterator[None]:
    """Control's cache (the lock-out counts) pointed at a loopback port nobody listens on."""
    with socket.socket() as probe:  # a port that was free a moment ago: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    yield


def test_sign_in_fails_closed_with_a_503_while_redis_is_down(api, admin, operator, user_password, redis_down):
    answer = login(operator.email, user_password)
    assert answer.status_code == 503, answer.content
    assert answer.json() == {"error": {"code": "unavailable", "message":
                                       "a service the API depends on is unavailable; try again shortly"}}
    assert answer["Retry-After"] == "5"
    assert "access" not in answer.json() and "refresh" not in answer.cookies
    operator.refresh_from_db()
    assert operator.last_login is None  # nothing of the sign-in was written
    assert not AuditEntry.objects.filter(action="sign_in").exists()
    unlock = api(admin).post(f"/api/v1/users/{operator.id}/unlock/")
    assert unlock.status_code == 503 and unlock.json()["error"]["code"] == "unavailable"
    assert not AuditEntry.objects.filter(action="user_unlocked").exists()
