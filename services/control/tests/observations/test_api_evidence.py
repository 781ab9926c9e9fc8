"""An event's evidence bundle through the API, and control's signed URLs that download its files,
with the file store and with S3 (a moto server on loopback) alike: a tampered or expired signature
is refused (403), a malformed URL is a 400, another org's event a 404, and a bundle without its
manifest is not ready yet."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from tests.support.servers import s3_server
from vigia.common.storage import FileStore, ObjectStore, S3Store
from vigia.common.storage.filesystem import sign_url
from vigia.control.config import get_settings
from vigia.control.observations import evidence
from vigia.control.observations.models import Event

pytestmark = pytest.mark.django_db

FILES = {"video.mp4": (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4"),
         "audio.wav": (b"RIFF" + b"\x01" * 60, "audio/wav"),
         "sensors.csv": (b"time,device_id,seq\n2026-01-01T00:00:00+00:00,d,1\n", "text/csv; charset=utf-8")}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """The control plane's object store: a directory of this test's own, or buckets of its own on S3."""
    env = {"VIGIA_OBJECT_STORE": f"file://{tmp_path}"}
    if request.param == "s3":
        env = {"VIGIA_OBJECT_STORE": f"s3://t{uuid.uuid4().hex[:10]}",
               "VIGIA_S3_ENDPOINT": request.getfixturevalue("s3_endpoint"), "VIGIA_S3_ACCESS_KEY": "testing",
               "VIGIA_S3_SECRET_KEY": "testing", "VIGIA_S3_REGION": "us-east-1", "VIGIA_S3_SECURE": "false"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    get_settings.cache_clear()
    evidence._store.cache_clear()
    opened = evidence.object_store()
    assert isinstance(opened, FileStore if request.param == "file" else S3Store)
    opened.ensure_bucket("evidence")
    yield opened
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()
    evidence._store.cache_clear()


@pytest.fixture
def bundle(store: ObjectStore) -> Callable[..., None]:
    def write(event: Event, *, manifest: bool = True) -> None:
        prefix = f"{event.org_id}/{event.pk}/"
        for name, (data, content_type) in FILES.items():
            store.put("evidence", prefix + name, data, content_type)
        if manifest:
            entries = [{"name": n, "size": len(d), "content_type": c, "sha256": hashlib.sha256(d).hexdigest()}
                       for n, (d, c) in FILES.items()]
            store.put("evidence", prefix + "manifest.json", orjson.dumps({"files": entries}), "application/json")

    return write


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_evidence_lists_every_file_with_a_signed_url_that_downloads_it(api, viewer, make_event, bundle) -> None:
    event = make_event()
    bundle(event)
    response = api(viewer).get(f"/api/v1/events/{event.pk}/evidence/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["event"] == str(event.pk) and body["ready"] is True
    by_name = {f["name"]: f for f in body["files"]}
    assert set(by_name) == {*FILES, "manifest.json"}
    anonymous = api()
    for name, (data, content_type) in FILES.items():
        entry = by_name[name]
        assert entry["url"].startswith("http://testserver/objects/evidence/")
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
        download = anonymous.get(local(entry["url"]))  # the signature is the credential: no token
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == data
        assert download["Content-Type"] == content_type


def test_tampered_or_expired_signatures_are_refused(api, viewer, make_event, bundle) -> None:
    event = make_event()
    bundle(event)
    url = local(api(viewer).get(f"/api/v1/events/{event.pk}/evidence/").json()["files"][0]["url"])
    path, query = url.split("?")
    params = dict(p.split("=", 1) for p in query.split("&"))
    client = api()
    other_key = path.replace("audio.wav", "video.mp4") if "audio.wav" in path else path.replace(
        path.rsplit("/", 1)[1], "audio.wav")
    tampered = [
        f"{path}?expires={params['expires']}&sig={params['sig'][:-2]}xx",  # signature changed
        f"{path}?expires={int(params['expires']) + 60}&sig={params['sig']}",  # lifetime extended
        f"{other_key}?expires={params['expires']}&sig={params['sig']}",  # another file
    ]
    for candidate in tampered:
        response = client.get(candidate)
        assert response.status_code == 403, candidate
        assert response.json()["error"]["code"] == "forbidden"
    key = path[len("/objects/evidence/"):]
    secret = get_settings().object_url_secret.get_secret_value()
    assert client.get(sign_url(secret, "evidence", key, int(time.time()) - 5)).status_code == 403  # expired
    assert client.get(sign_url(secret, "evidence", key, int(time.time()) + 60)).status_code == 200
    assert client.get(sign_url("another-secret-of-16-bytes", "evidence", key, int(time.time()) + 60)
                      ).status_code == 403


@pytest.mark.parametrize("query", ["", "?sig=abc", "?expires=soon&sig=abc", "?expires=1&expires=2&sig=a"])
def test_malformed_signed_urls_are_a_400_naming_the_field(api, query: str) -> None:
    response = api().get(f"/objects/evidence/a/b.mp4{query}")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) & {"expires", "sig"}


def test_another_organizations_event_evidence_is_a_404(api, outsider, make_event, bundle) -> None:
    event = make_event()
    bundle(event)
    response = api(outsider).get(f"/api/v1/events/{event.pk}/evidence/")
    assert response.status_code == 404


def test_bundle_without_manifest_is_not_ready(api, viewer, make_event, bundle) -> None:
    event = make_event()
    bundle(event, manifest=False)
    body: dict[str, Any] = api(viewer).get(f"/api/v1/events/{event.pk}/evidence/").json()
    assert body["ready"] is False and len(body["files"]) == len(FILES)
    assert all(f["sha256"] is None for f in body["files"])


def test_event_without_evidence_lists_nothing_and_bad_lifetimes_are_refused(api, viewer, make_event,
                                                                             store) -> None:
    event = make_event()
    client = api(viewer)
    assert client.get(f"/api/v1/events/{event.pk}/evidence/").json() == {
        "event": str(event.pk), "ready": False, "files": []}
    response = client.get(f"/api/v1/events/{event.pk}/evidence/", {"expires_in": 0})
    assert response.status_code == 400 and "expires_in" in response.json()["error"]["fields"]
