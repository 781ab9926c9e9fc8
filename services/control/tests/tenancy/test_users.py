"""User management: role matrix, tenancy, invitations, password policy, last-admin guard."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from vigia.control.tenancy.models import Invitation, RefreshToken, User

USERS = "/api/v1/users/"
ACCEPT = "/api/v1/auth/accept-invite"
STRONG = "a-much-longer-passphrase-7"


def detail(user: User) -> str:
    return f"{USERS}{user.id}/"


# -- role matrix -----------------------------------------------------------------------------

def test_admin_lists_the_users_of_their_org_only(api, admin, operator, viewer, outsider):
    response = api(admin).get(USERS)
    assert response.status_code == 200
    emails = {u["email"] for u in response.json()["results"]}
    assert emails == {admin.email, operator.email, viewer.email}


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_non_admins_cannot_list_or_read_users(api, request, admin, role):
    client = api(request.getfixturevalue(role))
    assert client.get(USERS).status_code == 403
    assert client.get(detail(admin)).status_code == 403


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_non_admins_cannot_create_change_or_deactivate_users(api, request, admin, viewer, role):
    client = api(request.getfixturevalue(role))
    create = client.post(USERS, {"email": "new@acme.example.com", "role": "admin"}, format="json")
    assert create.status_code == 403
    assert create.json()["error"]["code"] == "permission_denied"
    assert client.patch(detail(viewer), {"role": "admin"}, format="json").status_code == 403
    assert client.delete(detail(admin)).status_code == 403
    assert not User.objects.filter(email="new@acme.example.com").exists()
    viewer.refresh_from_db()
    admin.refresh_from_db()
    assert viewer.role == "viewer" and admin.is_active


def test_anonymous_gets_401_on_users(api, admin):
    assert api().get(USERS).status_code == 401
    assert api().post(USERS, {"email": "x@y.co"}, format="json").status_code == 401


# -- tenancy ---------------------------------------------------------------------------------

def test_outsider_admin_gets_404_on_another_orgs_user(api, outsider, viewer):
    client = api(outsider)
    assert client.get(detail(viewer)).status_code == 404
    assert client.patch(detail(viewer), {"role": "admin"}, format="json").status_code == 404
    assert client.delete(detail(viewer)).status_code == 404
    viewer.refresh_from_db()
    assert viewer.role == "viewer" and viewer.is_active


def test_created_user_lands_in_the_admins_org(api, admin):
    response = api(admin).post(USERS, {"email": "Eve@Acme.example.com", "password": STRONG}, format="json")
    assert response.status_code == 201, response.content
    user = User.objects.get(email="eve@acme.example.com")
    assert user.org_id == admin.org_id
    assert response.json()["org"]["id"] == str(admin.org_id)


def test_create_cannot_choose_the_org(api, admin, other_org):
    response = api(admin).post(USERS, {"email": "eve@acme.example.com", "password": STRONG,
                                       "org": str(other_org.id)}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"org": ["unknown field"]}
    assert not User.objects.filter(email="eve@acme.example.com").exists()


# -- create with password / invitation -------------------------------------------------------

def test_admin_creates_a_user_with_a_password_who_can_log_in(api, admin):
    response = api(admin).post(USERS, {"email": "op@acme.example.com", "role": "operator",
                                       "name": "Op", "password": STRONG}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role"] == "operator" and "invitation_token" not in body and "password" not in body
    assert body["invitation_pending"] is False
    user = User.objects.get(email="op@acme.example.com")
    assert user.password.startswith("argon2")
    login = APIClient().post("/api/v1/auth/login", {"email": "op@acme.example.com", "password": STRONG},
                             format="json")
    assert login.status_code == 200


def test_invitation_flow_sets_the_password_and_signs_in(api, admin):
    response = api(admin).post(USERS, {"email": "invitee@acme.example.com", "role": "viewer"},
                               format="json")
    assert response.status_code == 201, response.content
    token = response.json()["invitation_token"]
    assert response.json()["invitation_pending"] is True
    invitation = Invitation.objects.get(user__email="invitee@acme.example.com")
    assert invitation.token_hash != token and invitation.invited_by_id == admin.id
    # Before accepting, the account cannot sign in with any password.
    assert APIClient().post("/api/v1/auth/login", {"email": "invitee@acme.example.com",
                                                   "password": STRONG}, format="json").status_code == 401
    accepted = APIClient().post(ACCEPT, {"token": token, "password": STRONG}, format="json")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["user"]["email"] == "invitee@acme.example.com"
    assert accepted.json()["user"]["invitation_pending"] is False
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {accepted.json()['access']}")
    assert me.get("/api/v1/auth/me").json()["role"] == "viewer"
    # One-time: the same token cannot set a password again.
    again = APIClient().post(ACCEPT, {"token": token, "password": "another-long-passphrase-9"},
                             format="json")
    assert again.status_code == 400
    assert "token" in again.json()["error"]["fields"]


def test_accept_invite_refuses_a_weak_password_and_keeps_the_invitation(api, admin):
    token = api(admin).post(USERS, {"email": "weak@acme.example.com"}, format="json").json()[
        "invitation_token"]
    response = APIClient().post(ACCEPT, {"token": token, "password": "short"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]
    assert APIClient().post(ACCEPT, {"token": token, "password": STRONG}, format="json").status_code == 200


def test_accept_invite_with_unknown_token_is_400_naming_token(db):
    response = APIClient().post(ACCEPT, {"token": "nope", "password": STRONG}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["token"]


def test_expired_invitation_is_refused(api, admin):
    from datetime import timedelta

    from django.utils import timezone

    token = api(admin).post(USERS, {"email": "late@acme.example.com"}, format="json").json()[
        "invitation_token"]
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert APIClient().post(ACCEPT, {"token": token, "password": STRONG}, format="json").status_code == 400


def test_duplicate_email_is_400_naming_email(api, admin, outsider):
    response = api(admin).post(USERS, {"email": outsider.email.upper(), "password": STRONG}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["email"]


@pytest.mark.parametrize("password", ["short-pass", "123456789012345", "password1234", "qwerty123456",
                                      "1qaz2wsx3edc"])
def test_password_policy_refuses_weak_passwords_naming_the_field(api, admin, password):
    response = api(admin).post(USERS, {"email": "weak@acme.example.com", "password": password},
                               format="json")
    assert response.status_code == 400, password
    assert list(response.json()["error"]["fields"]) == ["password"]
    assert not User.objects.filter(email="weak@acme.example.com").exists()


def test_password_similar_to_the_email_is_refused(api, admin):
    response = api(admin).post(USERS, {"email": "marianasilveira@acme.example.com",
                                       "password": "marianasilveira"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]


@pytest.mark.parametrize("body, field", [
    ({"email": "a@acme.example.com", "is_superuser": True}, "is_superuser"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@acme.example.com", "role": "root"}, "role"),
    ({}, "email"),
])
def test_bad_create_bodies_are_400_naming_the_field(api, admin, body, field):
    response = api(admin).post(USERS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_malformed_json_on_users_is_400(api, admin):
    response = api(admin).post(USERS, data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed"


# -- update / deactivate ---------------------------------------------------------------------

def test_admin_changes_role_and_name(api, admin, viewer):
    response = api(admin).patch(detail(viewer), {"role": "operator", "name": "Vi"}, format="json")
    assert response.status_code == 200, response.content
    viewer.refresh_from_db()
    assert (viewer.role, viewer.name) == ("operator", "Vi")


def test_email_cannot_be_changed_through_update(api, admin, viewer):
    response = api(admin).patch(detail(viewer), {"email": "new@acme.example.com"}, format="json")
    assert response.status_code == 200  # read-only field: accepted and ignored
    viewer.refresh_from_db()
    assert viewer.email != "new@acme.example.com"


def test_update_with_unknown_field_is_400(api, admin, viewer):
    response = api(admin).patch(detail(viewer), {"password": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"password": ["unknown field"]}


def test_deactivation_ends_the_users_sessions(api, admin, operator, user_password):
    refresh = APIClient().post("/api/v1/auth/login", {"email": operator.email, "password": user_password},
                               format="json").json()["refresh"]
    client = api(operator)
    assert api(admin).delete(detail(operator)).status_code == 204
    operator.refresh_from_db()
    assert not operator.is_active
    assert client.get("/api/v1/auth/me").status_code == 401
    assert not RefreshToken.objects.filter(user=operator, revoked_at__isnull=True).exists()
    assert APIClient().post("/api/v1/auth/refresh", {"refresh": refresh}, format="json").status_code == 401


def _assert_last_admin_refusal(response, field: str | None) -> None:
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "last_admin"
    assert "admin who can sign in" in error["message"]
    assert list(error.get("fields", {})) == ([field] if field else [])


def test_last_admin_cannot_demote_themselves(api, admin):
    _assert_last_admin_refusal(api(admin).patch(detail(admin), {"role": "operator"}, format="json"), "role")
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_last_admin_cannot_deactivate_themselves(api, admin):
    _assert_last_admin_refusal(api(admin).patch(detail(admin), {"is_active": False}, format="json"),
                               "is_active")
    _assert_last_admin_refusal(api(admin).delete(detail(admin)), None)
    admin.refresh_from_db()
    assert admin.is_active


def test_an_admin_can_step_down_when_another_admin_remains(api, admin, make_user):
    make_user(role="admin")
    assert api(admin).patch(detail(admin), {"role": "viewer"}, format="json").status_code == 200


def test_an_inactive_admin_does_not_count_as_the_remaining_admin(api, admin, make_user):
    make_user(role="admin", is_active=False)
    _assert_last_admin_refusal(api(admin).patch(detail(admin), {"role": "viewer"}, format="json"), "role")


def _invite_admin(api, admin) -> str:
    """Admin A invites admin B; B has not accepted yet. Returns B's invitation token."""
    response = api(admin).post(USERS, {"email": "second-admin@acme.example.com", "role": "admin"},
                               format="json")
    assert response.status_code == 201 and response.json()["invitation_pending"] is True
    return response.json()["invitation_token"]


def _put(client, admin, **changes):
    representation = client.get(detail(admin)).json()
    return client.put(detail(admin), {**representation, **changes}, format="json")


@pytest.mark.parametrize("change, field", [
    (lambda client, admin: client.delete(detail(admin)), None),
    (lambda client, admin: client.patch(detail(admin), {"role": "operator"}, format="json"), "role"),
    (lambda client, admin: client.patch(detail(admin), {"is_active": False}, format="json"), "is_active"),
    (lambda client, admin: _put(client, admin, role="viewer"), "role"),
    (lambda client, admin: _put(client, admin, is_active=False), "is_active"),
], ids=["DELETE", "PATCH role", "PATCH is_active", "PUT role", "PUT is_active"])
def test_an_invited_admin_who_has_not_accepted_does_not_count(api, admin, change, field):
    _invite_admin(api, admin)
    _assert_last_admin_refusal(change(api(admin), admin), field)
    admin.refresh_from_db()
    assert (admin.role, admin.is_active) == ("admin", True)


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "PUT"])
def test_once_the_invited_admin_accepted_the_first_may_go(api, admin, method):
    token = _invite_admin(api, admin)
    assert APIClient().post(ACCEPT, {"token": token, "password": STRONG}, format="json").status_code == 200
    client = api(admin)
    if method == "DELETE":
        assert client.delete(detail(admin)).status_code == 204
    elif method == "PATCH":
        assert client.patch(detail(admin), {"role": "operator"}, format="json").status_code == 200
    else:
        assert _put(client, admin, role="viewer").status_code == 200
    assert APIClient().post("/api/v1/auth/login", {"email": "second-admin@acme.example.com",
                                                   "password": STRONG}, format="json").status_code == 200


def test_a_pending_admin_may_be_removed_while_a_signed_up_admin_remains(api, admin):
    _invite_admin(api, admin)
    pending = User.objects.get(email="second-admin@acme.example.com")
    assert api(admin).delete(detail(pending)).status_code == 204


def test_put_of_the_read_representation_round_trips(api, admin, viewer):
    client = api(admin)
    representation = client.get(detail(viewer)).json()
    representation["role"] = "operator"
    response = client.put(detail(viewer), representation, format="json")
    assert response.status_code == 200, response.content
    viewer.refresh_from_db()
    assert viewer.role == "operator"
