"""Every route of the control API, found by walking the URL resolver (a new route is covered
without touching this file):

* tenancy: an admin of another organization gets 404 on every detail route and method, never
  sees this organization's ids in a list, and changes nothing;
* roles: a viewer cannot mutate anything; an operator cannot manage users or read the audit log.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from django.db.models import Model
from django.forms.models import model_to_dict
from django.urls import get_resolver

from vigia.control.audit.models import AuditEntry
from vigia.control.cameras.models import Camera
from vigia.control.classifiers.models import ClassifierModel, TrainingRun
from vigia.control.core import console, crypto
from vigia.control.devices.models import Device, DeviceCredential
from vigia.control.faces.models import EnrolledPerson
from vigia.control.notifications.models import NotificationChannel
from vigia.control.observations.models import Anomaly, Detection, DeviceStatusChange, Event, Passage, Telemetry
from vigia.control.pipelines.models import Pipeline
from vigia.control.tenancy.models import Organization, User
from vigia.control.watchlists.models import PlateWatchlist, PlateWatchlistEntry

ANONYMOUS_ROUTES = {"api/v1/auth/login", "api/v1/auth/refresh", "api/v1/auth/logout",
                    "api/v1/auth/accept-invite"}
# Not the tenant API: probes, docs, and hooks that authorise their caller themselves
# (internal/mediamtx/auth: tests/cameras/test_stream_auth.py; api/v1/hooks/, signed by the pipeline
# webhook's secret: tests/pipelines/test_webhooks.py).
NOT_API = ("healthz", "readyz", "metrics", "api/schema", "api/docs", ".well-known/", "internal/", "api/v1/hooks/")
# The platform's own routes, for platform operators only: every member of every organization gets
# 403 there (tests/tenancy/test_platform_operator.py walks them).
PLATFORM_ROUTES = ("api/v1/organizations/",)
MUTATING = ("post", "put", "patch", "delete")


def _routes() -> Iterator[tuple[str, Any]]:
    def walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.callback

    for route, callback in walk(get_resolver().url_patterns):
        if callback is console.serve:  # the console's static files, GET only (tests/core/test_console.py)
            continue
        if not route.replace("^", "").startswith(NOT_API + PLATFORM_ROUTES):  # routers' routes: api/v1/^name/
            yield route, callback


def _methods(callback: Any) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        return list(actions)
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view is None:
        return ["get"]
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]


def _url(route: str, ids: dict[str, uuid.UUID | str]) -> str:
    route = route.replace("^", "").replace("$", "").replace("/?", "/")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(ids[m.group(1)]), route)
    route = re.sub(r"<uuid:(\w+)>", lambda m: str(ids[m.group(1)]), route)
    return "/" + route


@pytest.fixture
def world(org: Organization, make_user: Callable[..., User]) -> dict[type[Model], Model]:
    """One row of every kind in ``org``."""
    now = datetime.now(UTC)
    device = Device.objects.create(org=org, name="phone-a", kind="phone")
    objects: dict[type[Model], Model] = {
        Camera: Camera.objects.create(org=org, name="gate", rtsp_url_encrypted=crypto.encrypt("rtsp://u:p@h/s")),
        EnrolledPerson: EnrolledPerson.objects.create(org=org, name="Ana", consent_note="signed 2026-12-01"),
        Device: device,
        DeviceCredential: DeviceCredential.objects.create(org=org, device=device, prefix="vdt_abc",
                                                          token_hash=uuid.uuid4().hex * 2),
        Pipeline: Pipeline.objects.create(org=org, name="flow", graph={"nodes": [], "edges": []}),
        Detection: Detection.objects.create(org=org, camera_id=uuid.uuid4(), time=now, label="car",
                                            confidence=0.9, box={"x1": 0, "y1": 0, "x2": 1, "y2": 1},
                                            plate_text="ABC1D23"),
        Passage: Passage.objects.create(org=org, camera_id=uuid.uuid4(), visit="v1", first_seen=now, last_seen=now,
                                        plate_text="ABC1D23", plate_folded="A8C1023", confidence=0.9, votes=2,
                                        message_time=now),
        Event: Event.objects.create(org=org, time=now, event_type="intrusion", severity="high", score=0.8),
        Anomaly: Anomaly.objects.create(org=org, device_id=device.id, time=now, kind="magnetic",
                                        severity="high", score=4.2),
        Telemetry: Telemetry.objects.create(org=org, device_id=device.id, time=now, seq=1),
        DeviceStatusChange: DeviceStatusChange.objects.create(org=org, device_id=device.id, time=now,
                                                              status="ON"),
        User: make_user(email="member@acme.test"),
        AuditEntry: AuditEntry.objects.create(org=org, method="POST", path="/api/v1/cameras/", status_code=201),
        NotificationChannel: NotificationChannel.objects.create(
            org=org, kind="webhook", name="hook", config_encrypted=crypto.encrypt(orjson.dumps(
                {"url": "https://hooks.example.com/x", "secret": "0123456789abcdef"}).decode())),
        PlateWatchlist: PlateWatchlist.objects.create(org=org, name="stolen", kind="deny"),
        ClassifierModel: ClassifierModel.objects.create(org=org, version=1, created_at=now, artifact_key="k",
                                                        dataset_hash="0" * 64, samples=8),
        TrainingRun: TrainingRun.objects.create(org=org),
    }
    objects[PlateWatchlistEntry] = PlateWatchlistEntry.objects.create(org=org, watchlist=objects[PlateWatchlist],
                                                                      plate="ABC1D23")
    return objects


def _snapshot(org: Organization) -> dict[str, list[dict[str, Any]]]:
    models = (Camera, Device, DeviceCredential, Pipeline, Detection, Passage, Event, Anomaly, Telemetry,
              DeviceStatusChange, User, AuditEntry, NotificationChannel, PlateWatchlist, PlateWatchlistEntry,
              ClassifierModel, TrainingRun)
    return {m.__name__: sorted((model_to_dict(o) for o in m.objects.filter(org=org)), key=str)
            for m in (*models, EnrolledPerson)}


def _ids(world: dict[type[Model], Model], model: type[Model] | None) -> dict[str, uuid.UUID | str]:
    ids = {"device_id": world[Device].pk, "credential_id": world[DeviceCredential].pk, "event": world[Event].pk,
           "watchlist_id": world[PlateWatchlist].pk, "node": "in", "plate": "ABC1D23", "number": 1}
    if model is not None and model in world:
        ids["pk"] = world[model].pk
    return ids


@pytest.mark.django_db
def test_another_organizations_admin_gets_404_everywhere_and_changes_nothing(
        world: dict[type[Model], Model], org: Organization, outsider: User, api: Any) -> None:
    client = api(outsider)
    before = _snapshot(org)
    checked = 0
    for route, callback in _routes():
        if "(?P<pk>" not in route and "<uuid:" not in route:
            continue
        model = getattr(getattr(getattr(callback, "cls", None), "queryset", None), "model", None)
        url = _url(route, _ids(world, model))
        for method in _methods(callback):
            response = getattr(client, method)(url, {}, format="json")
            assert response.status_code == 404, f"{method.upper()} {url} -> {response.status_code}"
            checked += 1
    assert checked >= 20  # the walk really found the detail routes
    assert _snapshot(org) == before


@pytest.mark.django_db
def test_lists_never_show_another_organizations_rows(world: dict[type[Model], Model], outsider: User,
                                                     api: Any) -> None:
    client = api(outsider)
    secrets = [str(obj.pk) for obj in world.values() if isinstance(obj.pk, uuid.UUID)]
    device = world[Device].pk
    for route, callback in _routes():
        if "(?P<" in route or "<uuid:" in route or route in ANONYMOUS_ROUTES or "get" not in _methods(callback):
            continue
        url = _url(route, {})
        response = client.get(url, {"device": str(device), "plate": "ABC1D23"})
        assert response.status_code in (200, 400), f"GET {url} -> {response.status_code}"
        body = b"".join(response.streaming_content) if response.streaming else response.content  # CSV export
        # The audit log records the queries of the plate searches this loop made, device id included.
        echoed = {str(device)} if url == "/api/v1/audit/" else set()
        leaked = [s for s in secrets if s in body.decode() and s not in echoed]
        assert not leaked, f"GET {url} leaked {leaked}"


@pytest.mark.django_db
def test_a_viewer_cannot_mutate_anything(world: dict[type[Model], Model], org: Organization, viewer: User,
                                         api: Any) -> None:
    client = api(viewer)
    before = _snapshot(org)
    checked = 0
    for route, callback in _routes():
        if route in ANONYMOUS_ROUTES:
            continue
        model = getattr(getattr(getattr(callback, "cls", None), "queryset", None), "model", None)
        url = _url(route, _ids(world, model))
        for method in _methods(callback):
            if method not in MUTATING:
                continue
            response = getattr(client, method)(url, {}, format="json")
            assert response.status_code == 403, f"{method.upper()} {url} -> {response.status_code}"
            checked += 1
    assert checked >= 15
    after = _snapshot(org)
    before.pop("AuditEntry"), after.pop("AuditEntry")  # refused requests are audited, by design
    assert after == before


@pytest.mark.django_db
def test_an_operator_cannot_manage_users_or_read_the_audit_log(world: dict[type[Model], Model],
                                                               operator: User, api: Any) -> None:
    client = api(operator)
    member = world[User].pk
    assert client.get("/api/v1/users/").status_code == 403
    assert client.post("/api/v1/users/", {"email": "x@acme.test", "role": "admin"}, format="json").status_code == 403
    assert client.patch(f"/api/v1/users/{member}/", {"role": "admin"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/users/{member}/").status_code == 403
    assert client.get("/api/v1/audit/").status_code == 403
    assert User.objects.get(pk=member).role == "viewer"
