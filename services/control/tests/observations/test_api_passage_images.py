"""A passage's crop and frame as URLs a browser can load without a token: signed file-store URLs
that serve the stored images, null where the passage has none, another org's passage a 404."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

from vigia.common.plates import look_alike_key
from vigia.common.storage import FileStore
from vigia.control.config import get_settings
from vigia.control.observations import evidence
from vigia.control.observations.models import Passage
from vigia.control.tenancy.models import Organization

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40 + b"\xff\xd9"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FileStore]:
    saved = os.environ.get("VIGIA_OBJECT_STORE")
    os.environ["VIGIA_OBJECT_STORE"] = f"file://{tmp_path}"
    get_settings.cache_clear()
    evidence._store.cache_clear()
    opened = evidence.object_store()
    assert isinstance(opened, FileStore)
    yield opened
    if saved is None:
        os.environ.pop("VIGIA_OBJECT_STORE", None)
    else:
        os.environ["VIGIA_OBJECT_STORE"] = saved
    get_settings.cache_clear()
    evidence._store.cache_clear()


def passage(org: Organization, **keys: str | None) -> Passage:
    first = datetime.now(UTC) - timedelta(minutes=1)
    return Passage.objects.create(
        org=org, camera_id=uuid.uuid4(), visit="v1", first_seen=first, last_seen=first + timedelta(seconds=2),
        label="car", plate_text="ABC1D23", plate_folded=look_alike_key("ABC1D23"), confidence=0.9, votes=3,
        agreeing=3, message_time=first, final=True, **keys)


def test_a_passage_answers_signed_urls_of_its_crop_and_frame(api, viewer, org, store):
    crop, frame = f"{org.id}/cam/crop-1.jpg", f"{org.id}/cam/frame-1.jpg"
    store.put("snapshots", crop, JPEG, "image/jpeg")
    store.put("snapshots", frame, JPEG + b"frame", "image/jpeg")
    row = passage(org, crop_key=crop, snapshot_key=frame)
    answer = api(viewer).get(f"/api/v1/passages/{row.id}/images/")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["passage"] == str(row.id) and body["expires_at"] > datetime.now(UTC).timestamp()
    for url, content in ((body["crop"], JPEG), (body["snapshot"], JPEG + b"frame")):
        parts = urlsplit(url)
        assert parts.path.startswith("/objects/snapshots/")
        image = Client().get(f"{parts.path}?{parts.query}")  # no token: the signature is the credential
        assert image.status_code == 200 and b"".join(image.streaming_content) == content
        assert image["Content-Type"] == "image/jpeg"


def test_a_passage_without_images_answers_nulls(api, viewer, org, store):
    row = passage(org, crop_key=None, snapshot_key=None)
    body = api(viewer).get(f"/api/v1/passages/{row.id}/images/").json()
    assert (body["crop"], body["snapshot"]) == (None, None)


def test_another_orgs_passage_or_none_is_a_404(api, viewer, other_org, store):
    theirs = passage(other_org, crop_key="x/crop.jpg")
    for pk in (theirs.id, uuid.uuid4()):
        answer = api(viewer).get(f"/api/v1/passages/{pk}/images/")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert Client().get(f"/api/v1/passages/{theirs.id}/images/").status_code == 401
