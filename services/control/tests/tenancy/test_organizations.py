"""Organizations, run by platform operators through /api/v1/organizations/ and the ``organizations``
command: creation with a first admin invited, listing, disabling (sign-in, refresh, access and
device tokens refused) and enabling; organizations' own members get 403 there."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from vigia.common.auth import DeviceTokenVerifier, InvalidToken
from vigia.common.db import make_engine
from vigia.control.audit.models import AuditEntry
from vigia.control.core.choices import Role
from vigia.control.devices.credentials import issue_credential
from vigia.control.devices.models import Device
from vigia.control.tenancy.models import Organization, RefreshToken, User
from vigia.control.tenancy.organizations import disable_organization, enable_organization

ORGS = "/api/v1/organizations/"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ACCEPT = "/api/v1/auth/accept-invite"
NEW_PASSWORD = "a-brand-new-admin-passphrase-9"
NEW_ORG = {"name": "Transportes Ipê", "slug": "transportes-ipe", "admin_email": "Ana@Ipe.com.br",
           "admin_name": "Ana"}


def _login(email: str, password: str) -> Any:
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json")


def _fields(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    return dict(response.json()["error"]["fields"])


# -- creating ------------------------------------------------------------------------------------

def test_operator_creates_an_organization_whose_invited_admin_accepts_and_manages_it(api, platform_operator):
    response = api(platform_operator).post(ORGS, NEW_ORG, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slug"], body["name"], body["is_active"], body["time_zone"]) == (
        "transportes-ipe", "Transportes Ipê", True, "America/Sao_Paulo")
    assert body["admin"]["email"] == "ana@ipe.com.br" and body["admin"]["role"] == Role.ADMIN
    assert body["admin"]["invitation_pending"] is True and body["admin"]["org"]["id"] == body["id"]
    admin = User.objects.get(email="ana@ipe.com.br")
    assert str(admin.org_id) == body["id"] and not admin.has_usable_password()

    accepted = APIClient().post(ACCEPT, {"token": body["invitation_token"], "password": NEW_PASSWORD},
                                format="json")
    assert accepted.status_code == 200, accepted.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {accepted.json()['access']}")
    users = client.get("/api/v1/users/").json()["results"]
    assert [u["email"] for u in users] == ["ana@ipe.com.br"]
    assert _login("ana@ipe.com.br", NEW_PASSWORD).status_code == 200


def test_creation_takes_a_time_zone_and_is_audited(api, platform_operator):
    response = api(platform_operator).post(ORGS, {**NEW_ORG, "time_zone": "America/Manaus"}, format="json")
    assert response.status_code == 201
    assert Organization.objects.get(slug="transportes-ipe").time_zone == "America/Manaus"
    entry = AuditEntry.objects.get(path=ORGS)
    assert (entry.user_id, entry.object_type, entry.object_id, entry.status_code) == (
        platform_operator.pk, "organization", response.json()["id"], 201)


@pytest.mark.parametrize(("change", "field"), [
    ({"slug": "acme"}, "slug"),  # taken by the org fixture
    ({"slug": "Not A Slug"}, "slug"),
    ({"slug": "-edge-"}, "slug"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"time_zone": "../../etc/passwd"}, "time_zone"),
    ({"admin_email": "not-an-email"}, "admin_email"),
    ({"name": ""}, "name"),
    ({"owner": "me"}, "owner"),
])
def test_invalid_creation_is_400_naming_the_field_and_writes_nothing(api, platform_operator, org, change, field):
    orgs, users = Organization.objects.count(), User.objects.count()
    fields = _fields(api(platform_operator).post(ORGS, {**NEW_ORG, **change}, format="json"))
    assert field in fields
    assert (Organization.objects.count(), User.objects.count()) == (orgs, users)


def test_an_admin_email_already_in_use_is_refused(api, platform_operator, admin):
    fields = _fields(api(platform_operator).post(ORGS, {**NEW_ORG, "admin_email": admin.email.upper()},
                                                 format="json"))
    assert list(fields) == ["admin_email"]
    assert not Organization.objects.filter(slug="transportes-ipe").exists()


# -- listing -------------------------------------------------------------------------------------

def test_operator_lists_every_organization_and_filters_the_disabled(api, platform_operator, org, other_org):
    client = api(platform_operator)
    assert {o["slug"] for o in client.get(ORGS).json()["results"]} == {"acme", "rival"}
    disable_organization(other_org)
    assert [o["slug"] for o in client.get(ORGS, {"is_active": "false"}).json()["results"]] == ["rival"]
    detail = client.get(f"{ORGS}{org.pk}/").json()
    assert (detail["slug"], detail["is_active"], detail["disabled_at"]) == ("acme", True, None)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.VIEWER])
def test_organizations_members_get_403_on_every_organizations_route(api, make_user, org, other_org, role):
    client = api(make_user(role=role))
    orgs = Organization.objects.count()
    for method, url in (("get", ORGS), ("post", ORGS), ("get", f"{ORGS}{org.pk}/"),
                        ("get", f"{ORGS}{other_org.pk}/"), ("post", f"{ORGS}{org.pk}/disable/"),
                        ("post", f"{ORGS}{other_org.pk}/disable/"), ("post", f"{ORGS}{org.pk}/enable/")):
        response = getattr(client, method)(url, NEW_ORG if method == "post" else None, format="json")
        assert response.status_code == 403, f"{method} {url}"
    assert Organization.objects.count() == orgs
    assert Organization.objects.filter(is_active=True).count() == orgs


def test_anonymous_gets_401(api, org):
    assert api().get(ORGS).status_code == 401


# -- disabling and enabling ----------------------------------------------------------------------

def test_disabling_stops_sign_in_refresh_and_access_tokens_until_enabled(api, platform_operator, admin,
                                                                         user_password, other_org, outsider):
    signed_in = _login(admin.email, user_password).json()
    member = APIClient()
    member.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_in['access']}")
    assert member.get("/api/v1/cameras/").status_code == 200

    response = api(platform_operator).post(f"{ORGS}{admin.org_id}/disable/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False and response.json()["disabled_at"] is not None

    refused = _login(admin.email, user_password)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "organization_disabled"
    assert _login(admin.email, "wrong-password-entirely").status_code == 401  # no hint without the password
    refresh = APIClient().post(REFRESH, {"refresh": signed_in["refresh"]}, format="json")
    assert refresh.status_code == 401 and refresh.json()["error"]["code"] in ("organization_disabled",
                                                                              "token_revoked")
    stale = member.get("/api/v1/cameras/")
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "organization_disabled"
    assert not RefreshToken.objects.filter(user=admin, revoked_at__isnull=True).exists()
    assert _login(outsider.email, user_password).status_code == 200  # another organization is untouched

    again = api(platform_operator).post(f"{ORGS}{admin.org_id}/disable/")  # idempotent
    assert again.status_code == 200 and again.json()["disabled_at"] == response.json()["disabled_at"]

    enabled = api(platform_operator).post(f"{ORGS}{admin.org_id}/enable/")
    assert enabled.status_code == 200 and enabled.json()["is_active"] is True
    assert _login(admin.email, user_password).status_code == 200
    old = APIClient().post(REFRESH, {"refresh": signed_in["refresh"]}, format="json")
    assert old.status_code == 401  # revoked sessions stay revoked
    assert AuditEntry.objects.filter(user=platform_operator, object_id=str(admin.org_id),
                                     path__endswith="/disable/").count() == 2


def test_a_refresh_token_of_a_disabled_organization_is_refused_by_name(admin, user_password, org):
    refresh = _login(admin.email, user_password).json()["refresh"]
    Organization.objects.filter(pk=org.pk).update(is_active=False)  # disabled, tokens not yet revoked
    response = APIClient().post(REFRESH, {"refresh": refresh}, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "organization_disabled"


def test_a_pending_invitation_of_a_disabled_organization_cannot_be_accepted(api, platform_operator):
    token = api(platform_operator).post(ORGS, NEW_ORG, format="json").json()["invitation_token"]
    disable_organization(Organization.objects.get(slug="transportes-ipe"))
    response = APIClient().post(ACCEPT, {"token": token, "password": NEW_PASSWORD}, format="json")
    assert response.status_code == 400 and "token" in response.json()["error"]["fields"]


@pytest.mark.django_db(transaction=True)
def test_a_disabled_organizations_device_tokens_are_refused_at_the_gateways(org):
    """The gateways' verifier (vigia.common.auth, SQLAlchemy) reads the committed organization."""
    device = Device.objects.create(org=org, name="phone-1", kind="phone")
    _, token = issue_credential(device)
    cfg = connection.settings_dict
    engine = make_engine(f"postgresql://{cfg['USER'] or 'postgres'}@{cfg['HOST'] or '127.0.0.1'}:"
                         f"{cfg['PORT'] or 5432}/{cfg['NAME']}", pool_size=1)
    try:
        verifier = DeviceTokenVerifier(engine)
        assert verifier.verify(token).device == device.pk
        disable_organization(org)
        with pytest.raises(InvalidToken, match="organization is disabled"):
            verifier.verify(token)
        enable_organization(org)
        assert verifier.verify(token).org == org.pk
    finally:
        engine.dispose()


def test_a_disabled_organizations_tokens_open_no_camera_stream(org, viewer, platform_operator, monkeypatch,
                                                               signing_key):
    """MediaMTX asks control (``/internal/mediamtx/auth``) before serving a camera's stream."""
    from django.test import Client

    from vigia.control.cameras.models import Camera
    from vigia.control.tenancy.tokens import issue_access_token

    monkeypatch.setenv("VIGIA_MEDIAMTX_API_PASSWORD", "s3cret-mediamtx-api-password")
    cam = Camera(org=org, name="gate", enabled=True)
    cam.rtsp_url = "rtsp://user:pass@10.0.0.5:554/stream1"
    cam.save()

    def read(user: User) -> int:
        body = {"user": "", "password": "", "token": issue_access_token(user)[0], "ip": "10.1.2.3",
                "action": "read", "path": str(cam.id), "protocol": "hls", "id": "1", "query": ""}
        return Client().post("/internal/mediamtx/auth", body, content_type="application/json").status_code

    assert read(viewer) == 204
    assert read(platform_operator) == 403
    disable_organization(org)
    assert read(viewer) == 403


# -- the command ---------------------------------------------------------------------------------

def test_command_creates_lists_disables_and_enables(db, signing_key):
    out = StringIO()
    call_command("organizations", "create", "--slug", "porto-seguro", "--name", "Porto", "--admin-email",
                 "chefe@porto.com.br", "--time-zone", "America/Recife", stdout=out)
    org = Organization.objects.get(slug="porto-seguro")
    assert org.time_zone == "America/Recife" and org.users.get().role == Role.ADMIN
    token = out.getvalue().split("invitation token: ")[1].split()[0]
    accepted = APIClient().post(ACCEPT, {"token": token, "password": NEW_PASSWORD}, format="json")
    assert accepted.status_code == 200

    call_command("organizations", "disable", "porto-seguro", stdout=StringIO())
    assert not Organization.objects.get(slug="porto-seguro").is_active
    assert _login("chefe@porto.com.br", NEW_PASSWORD).status_code == 403
    listing = StringIO()
    call_command("organizations", "list", "--disabled", stdout=listing)
    assert "porto-seguro" in listing.getvalue() and "disabled" in listing.getvalue()
    call_command("organizations", "enable", "porto-seguro", stdout=StringIO())
    assert _login("chefe@porto.com.br", NEW_PASSWORD).status_code == 200


def test_command_names_the_option_at_fault(db, org):
    with pytest.raises(CommandError, match="--time-zone"):
        call_command("organizations", "create", "--slug", "new-one", "--name", "N", "--admin-email",
                     "a@b.com.br", "--time-zone", "Brazil/Nowhere")
    with pytest.raises(CommandError, match="--slug"):
        call_command("organizations", "create", "--slug", "acme", "--name", "N", "--admin-email", "a@b.com.br")
    with pytest.raises(CommandError, match="no organization"):
        call_command("organizations", "disable", "missing")
    assert Organization.objects.count() == 1
