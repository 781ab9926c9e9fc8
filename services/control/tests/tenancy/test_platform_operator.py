"""Platform operators: created by a command (never a password on the command line), signed in with
the normal login, refused (403) by every organization route and by every verifier of
organization tokens (vigia.common.auth: the gateways and live)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from services.control.tests.test_security_matrix import (  # noqa: F401  (world: a fixture)
    ANONYMOUS_ROUTES,
    _ids,
    _methods,
    _routes,
    _snapshot,
    _url,
    world,
)
from vigia.common.auth import DeviceTokenVerifier, InvalidToken, JWKSClient
from vigia.control.core.choices import Role
from vigia.control.tenancy import keys
from vigia.control.tenancy.models import User
from vigia.control.tenancy.tokens import PLATFORM_OPERATOR_ROLE, decode_access_token, issue_access_token

LOGIN = "/api/v1/auth/login"
STRONG = "a-long-platform-passphrase-77"


def _login(email: str, password: str) -> Any:
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json")


# -- the command ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_command_creates_an_operator_with_the_password_from_the_environment(monkeypatch, signing_key):
    monkeypatch.setenv("VIGIA_PLATFORM_OPERATOR_PASSWORD", STRONG)
    out = StringIO()
    call_command("create_platform_operator", "--email", "Root@Platform.example.com", stdout=out)
    user = User.objects.get(email="root@platform.example.com")
    assert user.is_platform_operator and user.org_id is None and user.check_password(STRONG)
    assert "created" in out.getvalue() and STRONG not in out.getvalue()
    assert _login("root@platform.example.com", STRONG).status_code == 200


@pytest.mark.django_db
def test_command_reads_the_password_file_and_resets_an_existing_operator(tmp_path: Path, monkeypatch,
                                                                         platform_operator):
    monkeypatch.delenv("VIGIA_PLATFORM_OPERATOR_PASSWORD", raising=False)
    secret = tmp_path / "password"
    secret.write_text(STRONG + "\n")
    call_command("create_platform_operator", "--email", platform_operator.email, "--password-file", str(secret),
                 stdout=StringIO())
    platform_operator.refresh_from_db()
    assert platform_operator.check_password(STRONG)
    assert User.objects.filter(is_platform_operator=True).count() == 1


@pytest.mark.django_db
def test_command_refuses_no_password_a_weak_one_and_an_organizations_member(monkeypatch, admin, tmp_path):
    monkeypatch.delenv("VIGIA_PLATFORM_OPERATOR_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", StringIO())  # not a terminal: no prompt
    with pytest.raises(CommandError, match="no password"):
        call_command("create_platform_operator", "--email", "new@platform.example.com")
    monkeypatch.setenv("VIGIA_PLATFORM_OPERATOR_PASSWORD", "123")
    with pytest.raises(CommandError, match="password refused"):
        call_command("create_platform_operator", "--email", "new@platform.example.com")
    monkeypatch.setenv("VIGIA_PLATFORM_OPERATOR_PASSWORD", STRONG)
    with pytest.raises(CommandError, match="member of organization"):
        call_command("create_platform_operator", "--email", admin.email)
    admin.refresh_from_db()
    assert not admin.is_platform_operator and admin.role == Role.ADMIN
    assert not User.objects.filter(email="new@platform.example.com").exists()


def test_the_password_is_not_an_argument():
    from vigia.control.tenancy.management.commands.create_platform_operator import Command

    parser = Command().create_parser("vigia-control", "create_platform_operator")
    assert not any(option == "--password" for action in parser._actions for option in action.option_strings)


def test_the_database_refuses_a_member_without_organization_or_an_operator_with_one(db, org):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="x@example.com", org=None, is_platform_operator=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="y@example.com", org=org, is_platform_operator=True)


# -- signing in ----------------------------------------------------------------------------------

def test_operator_signs_in_and_gets_a_token_of_no_organization(platform_operator, user_password, signing_key):
    response = _login(platform_operator.email, user_password)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["is_platform_operator"] is True and body["user"]["org"] is None
    claims = decode_access_token(body["access"])
    assert claims["org"] is None and claims["role"] == PLATFORM_OPERATOR_ROLE
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get("/api/v1/auth/me").json()["email"] == platform_operator.email
    refreshed = APIClient().post("/api/v1/auth/refresh", {"refresh": body["refresh"]}, format="json")
    assert refreshed.status_code == 200


def test_a_members_token_with_a_null_org_is_refused(admin, signing_key):
    """A token whose org claim does not fit its role (null org, organization role) is refused."""
    key = keys.active_signing_key()
    claims = jwt.decode(issue_access_token(admin)[0], options={"verify_signature": False})
    forged = jwt.encode({**claims, "org": None, "jti": uuid.uuid4().hex}, keys.private_key_of(key),
                        algorithm="RS256", headers={"kid": key.kid})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert client.get("/api/v1/cameras/").status_code == 401


# -- no organization's data ----------------------------------------------------------------------

@pytest.mark.django_db
def test_operator_gets_403_on_every_organization_route_and_changes_nothing(
        world, org, platform_operator, api):  # noqa: F811
    client = api(platform_operator)
    before = _snapshot(org)
    checked = 0
    for route, callback in _routes():
        if route in ANONYMOUS_ROUTES or route.endswith("auth/me") or not route.lstrip("^").startswith("api/"):
            continue
        model = getattr(getattr(getattr(callback, "cls", None), "queryset", None), "model", None)
        url = _url(route, _ids(world, model))
        for method in _methods(callback):
            response = getattr(client, method)(url, {}, format="json")
            assert response.status_code == 403, f"{method.upper()} {url} -> {response.status_code}"
            if method != "head":
                assert response.json()["error"]["message"] == "a platform operator sees no organization's data"
            checked += 1
    assert checked >= 40
    after = _snapshot(org)
    before.pop("AuditEntry"), after.pop("AuditEntry")  # refused requests are audited, by design
    assert after == before


def test_operator_cannot_list_cameras_users_or_events(world, platform_operator, api):  # noqa: F811
    client = api(platform_operator)
    for url in ("/api/v1/cameras/", "/api/v1/users/", "/api/v1/events/", "/api/v1/detections/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert str(world[User].pk) not in response.content.decode()


# -- the other verifiers: vigia.common.auth (gateways, live) --------------------------------------

@pytest.fixture
def jwks_url(signing_key) -> Iterator[str]:
    """Control's JWKS document served on a loopback port, as /.well-known/jwks.json serves it."""
    document = json.dumps(keys.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


def test_organization_token_verifiers_refuse_an_operators_token_by_name(jwks_url, platform_operator, admin):
    cfg = settings.VIGIA
    verifier = JWKSClient(jwks_url, issuer=cfg.jwt_issuer, audience=cfg.jwt_audience)
    assert verifier.verify(issue_access_token(admin)[0]).org == admin.org_id  # the same verifier works
    operators_token = issue_access_token(platform_operator)[0]
    with pytest.raises(InvalidToken, match="platform operator's token reaches no organization's data"):
        verifier.verify(operators_token)
    # The frame and sensor gateways take device tokens only: a JWT is refused before any lookup.
    with pytest.raises(InvalidToken, match="malformed device token"):
        DeviceTokenVerifier(engine=None).verify(operators_token)

