"""``POST /internal/mediamtx/auth``: the answers MediaMTX (authMethod: http) gets for the requests it
sends — operators reading a camera of their organization with their JWT, mediamtx-sync on the API,
Prometheus on /metrics — and what it refuses. The payloads are MediaMTX's: user, password, token,
ip, action, path, protocol, id, query."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from vigia.control.cameras.models import Camera
from vigia.control.tenancy.models import Organization, SigningKey, User
from vigia.control.tenancy.tokens import issue_access_token

URL = "/internal/mediamtx/auth"
API_PASSWORD = "s3cret-mediamtx-api-password"


@pytest.fixture(autouse=True)
def api_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIA_MEDIAMTX_API_PASSWORD", API_PASSWORD)


def camera(org: Organization, enabled: bool = True) -> Camera:
    cam = Camera(org=org, name=f"cam-{uuid.uuid4().hex[:6]}", enabled=enabled)
    cam.rtsp_url = "rtsp://user:pass@10.0.0.5:554/stream1"
    cam.save()
    return cam


def ask(client: Client, action: str, **fields: Any) -> int:
    body = {"user": "", "password": "", "token": "", "ip": "10.1.2.3", "action": action, "path": "",
            "protocol": "hls", "id": str(uuid.uuid4()), "query": "", **fields}
    return client.post(URL, body, content_type="application/json").status_code


def decisions(action: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("control_stream_auth_decisions_total",
                                     {"action": action, "outcome": outcome}) or 0.0


@pytest.fixture
def token(signing_key: SigningKey) -> Callable[[User], str]:
    return lambda user: issue_access_token(user)[0]


def test_an_operator_reads_a_camera_of_their_org_with_the_jwt_in_any_of_its_three_places(
        client: Client, org: Organization, viewer: User, token: Callable[[User], str]) -> None:
    cam, jwt = camera(org), token(viewer)
    allowed = decisions("read", "allowed")
    # hls.js xhrSetup: Authorization: Basic base64("jwt:<JWT>") -> MediaMTX's user and password.
    assert ask(client, "read", path=str(cam.id), user="jwt", password=jwt) == 204
    assert ask(client, "read", path=str(cam.id), token=jwt) == 204  # Bearer
    assert ask(client, "read", path=str(cam.id), query=f"jwt={jwt}&_HLS_msn=3") == 204
    assert ask(client, "playback", path=str(cam.id), token=jwt) == 204
    assert decisions("read", "allowed") == allowed + 3


def test_another_orgs_camera_an_unknown_one_and_a_disabled_one_are_refused_alike(
        client: Client, org: Organization, other_org: Organization, viewer: User, outsider: User,
        token: Callable[[User], str]) -> None:
    ours, theirs, off = camera(org), camera(other_org), camera(org, enabled=False)
    jwt = token(viewer)
    assert ask(client, "read", path=str(theirs.id), token=jwt) == 403
    assert ask(client, "read", path=str(uuid.uuid4()), token=jwt) == 403
    assert ask(client, "read", path=str(off.id), token=jwt) == 403
    assert ask(client, "read", path="not-a-camera", token=jwt) == 403
    # The other org's admin cannot read ours either.
    assert ask(client, "read", path=str(ours.id), token=token(outsider)) == 403


def test_a_read_without_credentials_is_401_and_with_a_bad_token_403(
        client: Client, org: Organization, viewer: User, token: Callable[[User], str]) -> None:
    cam = camera(org)
    assert ask(client, "read", path=str(cam.id)) == 401  # RTSP clients send credentials only after a 401
    assert ask(client, "read", path=str(cam.id), token="not.a.jwt") == 403
    jwt = token(viewer)
    forged = jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB")
    assert ask(client, "read", path=str(cam.id), token=forged) == 403
    # A deactivated user's still-unexpired token no longer opens the stream.
    viewer.is_active = False
    viewer.save()
    assert ask(client, "read", path=str(cam.id), token=jwt) == 403


def test_the_api_needs_mediamtx_syncs_user_and_password(client: Client, db: Any) -> None:
    assert ask(client, "api", user="vigia", password=API_PASSWORD, protocol="") == 204
    assert ask(client, "api", user="vigia", password="wrong", protocol="") == 403
    assert ask(client, "api", user="someone", password=API_PASSWORD, protocol="") == 403
    assert ask(client, "api", user="usuário", password="senha-é", protocol="") == 403  # not ASCII: no 500
    assert ask(client, "api", protocol="") == 401


def test_the_api_stays_closed_while_no_password_is_configured(client: Client, db: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIA_MEDIAMTX_API_PASSWORD", "")
    assert ask(client, "api", user="vigia", password="anything", protocol="") == 403


def test_metrics_from_private_networks_only_and_nobody_publishes(
        client: Client, org: Organization, admin: User, token: Callable[[User], str]) -> None:
    assert ask(client, "metrics", ip="10.0.0.9", protocol="") == 204
    assert ask(client, "metrics", ip="127.0.0.1", protocol="") == 204
    assert ask(client, "metrics", ip="8.8.8.8", protocol="") == 403
    cam = camera(org)
    assert ask(client, "publish", path=str(cam.id), token=token(admin), protocol="rtsp") == 403
    assert ask(client, "pprof", protocol="") == 403


def test_a_request_that_came_through_a_proxy_is_not_found(client: Client, org: Organization, viewer: User,
                                                           token: Callable[[User], str]) -> None:
    cam = camera(org)
    body = {"action": "read", "path": str(cam.id), "token": token(viewer)}
    response = client.post(URL, body, content_type="application/json", HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"path": "x"}', b'{"action": 3}'])
def test_a_malformed_request_is_a_400_naming_the_field(client: Client, db: Any, body: bytes) -> None:
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) & {"body", "action"}


def test_only_post_is_answered(client: Client, db: Any) -> None:
    assert client.get(URL).status_code == 405
