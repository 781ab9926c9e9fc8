"""Face enrolment and search through the API, with dlib's real models on real photos
(tests/data/faces): a photo's one face is embedded and stored encrypted, a bad photo is a 400 on
``image``, only admins enrol, another organization's people are not found, deleting a person
erases everything of theirs, and enrolments, searches and exports are audit rows."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from vigia.common.faces import MATCH_DISTANCE, decode_embedding, open_embedding, shared_model
from vigia.control.audit.models import AuditEntry
from vigia.control.core import crypto
from vigia.control.faces.models import EnrolledPerson, FacePhoto, FaceSighting

PHOTOS = Path(__file__).resolve().parents[4] / "tests" / "data" / "faces"
CONSENT = "Signed the cameras' consent form on 2026-12-01 (HR file 42)."

pytestmark = pytest.mark.django_db


def upload(name: str, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (PHOTOS / name).read_bytes(), content_type=content_type)


def enrol(client: Any, name: str = "Barack", *photos: str) -> dict[str, Any]:
    person = client.post("/api/v1/faces/people", {"name": name, "consent_note": CONSENT}, format="json")
    assert person.status_code == 201, person.content
    for photo in photos:
        added = client.post(f"/api/v1/faces/people/{person.json()['id']}/photos", {"image": upload(photo)},
                            format="multipart")
        assert added.status_code == 201, added.content
    body: dict[str, Any] = client.get(f"/api/v1/faces/people/{person.json()['id']}").json()
    return body


def test_an_admin_enrols_a_person_whose_photo_embedding_matches_their_other_photos(api: Any, admin: Any) -> None:
    person = enrol(api(admin), "Barack", "obama.jpg", "obama2.jpg")
    assert person["name"] == "Barack" and person["consent_note"] == CONSENT
    assert len(person["photos"]) == 2 and set(person["photos"][0]) == {
        "id", "person", "face_box", "width", "height", "created_at"}
    stored = [open_embedding(p.embedding_encrypted, crypto._configured_keys())
              for p in FacePhoto.objects.filter(person_id=person["id"])]
    (other,) = shared_model().faces(_image("obama3.jpg"))
    assert all(np.linalg.norm(v - other.embedding) < MATCH_DISTANCE for v in stored)


def _image(name: str) -> np.ndarray:
    from vigia.common.faces import decode_image

    image = decode_image((PHOTOS / name).read_bytes())
    assert image is not None
    return image


def test_photos_and_embeddings_are_encrypted_at_rest(api: Any, admin: Any) -> None:
    person = enrol(api(admin), "Barack", "obama.jpg")
    photo = FacePhoto.objects.get(person_id=person["id"])
    embedding = decode_embedding(crypto.decrypt(photo.embedding_encrypted))
    with connection.cursor() as cursor:
        cursor.execute("SELECT photo_encrypted, embedding_encrypted FROM face_photos WHERE id = %s", [photo.id])
        raw_photo, raw_embedding = cursor.fetchone()
    clear = base64.b64encode(embedding.astype("<f4").tobytes()).decode()
    assert clear not in raw_embedding and embedding.astype("<f4").tobytes() not in raw_embedding.encode()
    assert raw_embedding.startswith("gAAAA") and raw_photo.startswith("gAAAA")  # Fernet tokens
    assert b"\xff\xd8\xff" not in raw_photo.encode() and "/9j/" not in raw_photo  # no JPEG, raw or base64


@pytest.mark.parametrize(("photo", "words"), [
    ("group5.jpg", "5 faces in the photo"),
    (None, "no face found"),
    (b"GIF89a not really", "not an image"),
])
def test_a_photo_without_exactly_one_face_is_a_400_naming_image_and_stores_nothing(
        api: Any, admin: Any, photo: str | bytes | None, words: str) -> None:
    client = api(admin)
    person = enrol(client)
    if isinstance(photo, str):
        file = upload(photo)
    elif photo is None:  # a real JPEG of a wall: no face
        import cv2

        _, jpeg = cv2.imencode(".jpg", np.full((400, 400, 3), 180, np.uint8))
        file = SimpleUploadedFile("wall.jpg", jpeg.tobytes(), content_type="image/jpeg")
    else:
        file = SimpleUploadedFile("x.gif", photo, content_type="image/gif")
    response = client.post(f"/api/v1/faces/people/{person['id']}/photos", {"image": file}, format="multipart")
    assert response.status_code == 400, response.content
    assert words in response.json()["error"]["fields"]["image"][0]
    missing = client.post(f"/api/v1/faces/people/{person['id']}/photos", {}, format="multipart")
    assert missing.status_code == 400 and "image" in missing.json()["error"]["fields"]
    as_json = client.post(f"/api/v1/faces/people/{person['id']}/photos", {"image": "x"}, format="json")
    assert as_json.status_code == 415
    assert not FacePhoto.objects.exists()


def test_a_person_needs_a_name_and_a_consent_note(api: Any, admin: Any) -> None:
    response = api(admin).post("/api/v1/faces/people", {"name": "Nobody"}, format="json")
    assert response.status_code == 400 and "consent_note" in response.json()["error"]["fields"]
    response = api(admin).post("/api/v1/faces/people", {"name": "", "consent_note": CONSENT, "x": 1}, format="json")
    assert set(response.json()["error"]["fields"]) == {"name", "x"}


def test_only_admins_enrol_search_is_for_operators_and_viewers_see_nothing(
        api: Any, admin: Any, operator: Any, viewer: Any) -> None:
    person = enrol(api(admin), "Barack")
    for user in (operator, viewer):
        client = api(user)
        assert client.post("/api/v1/faces/people", {"name": "X", "consent_note": CONSENT}, format="json"
                           ).status_code == 403
        assert client.get("/api/v1/faces/people").status_code == 403
        assert client.get(f"/api/v1/faces/people/{person['id']}/export").status_code == 403
        assert client.post(f"/api/v1/faces/people/{person['id']}/photos", {"image": upload("obama.jpg")},
                           format="multipart").status_code == 403
        assert client.delete(f"/api/v1/faces/people/{person['id']}").status_code == 403
        assert client.get("/api/v1/faces/settings").status_code == 403
    assert api(operator).get("/api/v1/faces/matches").status_code == 200
    assert api(viewer).get("/api/v1/faces/matches").status_code == 403
    assert not FacePhoto.objects.exists() and EnrolledPerson.objects.count() == 1


def test_another_organizations_person_is_not_found(api: Any, admin: Any, outsider: Any) -> None:
    person = enrol(api(admin), "Barack")
    client = api(outsider)
    assert client.get(f"/api/v1/faces/people/{person['id']}").status_code == 404
    assert client.post(f"/api/v1/faces/people/{person['id']}/photos", {"image": upload("obama.jpg")},
                       format="multipart").status_code == 404
    assert client.get(f"/api/v1/faces/people/{person['id']}/export").status_code == 404
    assert client.delete(f"/api/v1/faces/people/{person['id']}").status_code == 404
    assert client.get("/api/v1/faces/people").json()["results"] == []
    assert not FacePhoto.objects.exists() and EnrolledPerson.objects.filter(pk=person["id"]).exists()


def sighting(org: Any, person: str | None, camera: uuid.UUID, at: datetime, distance: float = 0.3,
             crop_key: str | None = None) -> FaceSighting:
    return FaceSighting.objects.create(id=uuid.uuid4(), org=org, person_id=person, camera_id=camera, time=at,
                                       distance=distance, box={"x1": 1, "y1": 2, "x2": 30, "y2": 40},
                                       crop_key=crop_key)


def test_the_face_search_filters_by_person_camera_and_time_and_is_audited(
        api: Any, admin: Any, operator: Any, org: Any, other_org: Any) -> None:
    barack = enrol(api(admin), "Barack")["id"]
    gate, yard = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    seen = [sighting(org, barack, gate, now - timedelta(hours=2), crop_key=f"{org.id}/{gate}/face-1.jpg"),
            sighting(org, barack, yard, now),
            sighting(org, None, gate, now, 0.8)]
    sighting(other_org, barack, gate, now)  # another organization's row is never shown
    client = api(operator)
    everything = client.get("/api/v1/faces/matches").json()["results"]
    assert [r["id"] for r in everything][-1] == str(seen[0].id) and len(everything) == 3  # newest first
    found = client.get("/api/v1/faces/matches", {"person": barack, "camera": str(gate)}).json()["results"]
    assert [(r["id"], r["person"], r["person_name"]) for r in found] == [(str(seen[0].id), barack, "Barack")]
    assert "/objects/snapshots/" in found[0]["crop_url"] and found[0]["snapshot_url"] is None  # signed, no token
    since = (now - timedelta(minutes=1)).isoformat()
    recent = client.get("/api/v1/faces/matches", {"person": barack, "since": since}).json()["results"]
    assert [r["camera"] for r in recent] == [str(yard)]
    unknown = client.get("/api/v1/faces/matches", {"known": "false"}).json()["results"]
    assert [(r["person"], r["person_name"], r["distance"]) for r in unknown] == [(None, None, 0.8)]
    bad = client.get("/api/v1/faces/matches", {"person": "not-an-id"})
    assert bad.status_code == 400 and "person" in bad.json()["error"]["fields"]
    searches = AuditEntry.objects.filter(org=org, action="faces_searched").order_by("id")
    assert searches.count() == 5  # the refused search (400) is audited too, with its query
    assert searches.filter(object_id=barack).count() == 2 and "person=not-an-id" in searches.last().query


def test_deleting_a_person_erases_photos_embeddings_and_sightings_and_enrolments_are_audited(
        api: Any, admin: Any, org: Any) -> None:
    client = api(admin)
    barack = enrol(client, "Barack", "obama.jpg")["id"]
    joe = enrol(client, "Joe", "biden.jpg")["id"]
    camera = uuid.uuid4()
    sighting(org, barack, camera, datetime.now(UTC))
    sighting(org, joe, camera, datetime.now(UTC))
    exported = client.get(f"/api/v1/faces/people/{barack}/export")
    assert exported.status_code == 200
    body = exported.json()
    assert body["person"]["id"] == barack and len(body["sightings"]) == 1
    assert base64.b64decode(body["photos"][0]["jpeg_base64"])[:3] == b"\xff\xd8\xff"
    assert client.delete(f"/api/v1/faces/people/{barack}").status_code == 204
    assert client.get(f"/api/v1/faces/people/{barack}").status_code == 404
    assert not FacePhoto.objects.filter(person_id=barack).exists()
    assert not FaceSighting.objects.filter(person_id=barack).exists()
    assert FacePhoto.objects.filter(person_id=joe).count() == 1 and FaceSighting.objects.filter(person_id=joe).exists()
    actions = list(AuditEntry.objects.filter(org=org, object_id=barack).order_by("id").values_list("action", flat=True))
    assert actions == ["face_enrolled", "face_enrolled", "faces_exported", "face_erased"]


def test_the_organizations_face_policy_defaults_off_and_an_admin_changes_it(api: Any, admin: Any, org: Any) -> None:
    client = api(admin)
    assert client.get("/api/v1/faces/settings").json() == {"store_unknown": False, "sightings_days": 30,
                                                           "enrolment_days": None}
    changed = client.patch("/api/v1/faces/settings", {"store_unknown": True}, format="json")
    assert changed.json() == {"store_unknown": True, "sightings_days": 30, "enrolment_days": None}
    assert client.patch("/api/v1/faces/settings", {"sightings_days": 7, "enrolment_days": 365},
                        format="json").json() == {"store_unknown": True, "sightings_days": 7, "enrolment_days": 365}
    bad = client.patch("/api/v1/faces/settings", {"sightings_days": 0, "other": 1}, format="json")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"sightings_days", "other"}
    org.refresh_from_db()
    assert org.settings["faces"] == {"store_unknown": True, "sightings_days": 7, "enrolment_days": 365}
    assert client.patch("/api/v1/faces/settings", {"enrolment_days": None}, format="json").json()[
        "enrolment_days"] is None


def test_renewing_a_persons_consent_note_restarts_their_enrolment(api: Any, admin: Any) -> None:
    client = api(admin)
    person = enrol(client, "Barack")
    renewed = client.patch(f"/api/v1/faces/people/{person['id']}", {"consent_note": "Renewed on 2027-01-02."},
                           format="json")
    assert renewed.status_code == 200 and renewed.json()["consent_note"] == "Renewed on 2027-01-02."
    assert renewed.json()["updated_at"] > person["updated_at"] and renewed.json()["name"] == "Barack"
    assert client.patch(f"/api/v1/faces/people/{person['id']}", {"consent_note": ""},
                        format="json").json()["error"]["fields"].keys() == {"consent_note"}


def test_a_photo_claiming_too_many_pixels_is_refused_before_it_is_decoded(api: Any, admin: Any) -> None:
    import cv2

    client = api(admin)
    person = enrol(client)
    _, png = cv2.imencode(".png", np.zeros((30, 40, 3), np.uint8))
    bomb = bytearray(png.tobytes())
    bomb[16:24] = (50_000).to_bytes(4, "big") * 2  # its header claims 50 000 x 50 000 pixels
    response = client.post(f"/api/v1/faces/people/{person['id']}/photos",
                           {"image": SimpleUploadedFile("bomb.png", bytes(bomb), content_type="image/png")},
                           format="multipart")
    assert response.status_code == 400 and "megapixels" in response.json()["error"]["fields"]["image"][0]
