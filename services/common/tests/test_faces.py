"""Face detection, embeddings and matching with dlib's shipped models on real photos
(tests/data/faces, see its LICENCE): one person's photos match each other and nobody else's."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from vigia.common.faces import (
    EMBEDDING_DIM,
    MATCH_DISTANCE,
    FaceModel,
    FacesPolicy,
    Gallery,
    decode_embedding,
    decode_image,
    encode_embedding,
    faces_policy,
    image_pixels,
    open_embedding,
    seal_embedding,
    shared_model,
)
from vigia.common.secrets_at_rest import DEV_FERNET_KEY

PHOTOS = Path(__file__).resolve().parents[3] / "tests" / "data" / "faces"
OBAMA = ["obama.jpg", "obama2.jpg", "obama3.jpg"]


def photo(name: str) -> np.ndarray:
    image = decode_image((PHOTOS / name).read_bytes())
    assert image is not None
    return image


@pytest.fixture(scope="module")
def model() -> FaceModel:
    return shared_model()


def test_each_portrait_has_one_face_and_a_group_photo_several(model: FaceModel) -> None:
    for name in [*OBAMA, "biden.jpg"]:
        (face,) = model.faces(photo(name))
        assert face.embedding.shape == (EMBEDDING_DIM,) and face.embedding.dtype == np.float32
        x1, y1, x2, y2 = face.box
        assert 0 <= x1 < x2 and 0 <= y1 < y2
    assert len(model.faces(photo("group5.jpg"))) == 5
    assert model.faces(np.full((480, 640, 3), 127, np.uint8)) == []


def test_one_persons_photos_match_and_another_person_does_not(model: FaceModel) -> None:
    obama = [model.faces(photo(name))[0].embedding for name in OBAMA]
    (biden,) = model.faces(photo("biden.jpg"))
    strangers = [f.embedding for f in model.faces(photo("group1.jpg"))]
    ana, bruno = uuid.uuid4(), uuid.uuid4()
    gallery = Gallery([(ana, obama[0]), (ana, obama[1]), (bruno, biden.embedding)])
    match = gallery.match(obama[2])
    assert match.person == ana and match.distance is not None and match.distance < MATCH_DISTANCE
    for stranger in strangers:
        unknown = gallery.match(stranger)
        assert unknown.person is None and unknown.distance is not None and unknown.distance >= MATCH_DISTANCE
    assert Gallery().match(obama[0]).person is None and Gallery().match(obama[0]).distance is None


def test_a_face_is_searched_only_inside_the_region_given(model: FaceModel) -> None:
    image = photo("group5.jpg")
    everyone = model.faces(image)
    x1, y1, x2, y2 = everyone[0].box
    region = (max(0, x1 - 60), max(0, y1 - 60), x2 + 60, y2 + 200)  # a person's box around the first face
    (only,) = model.faces(image, region)
    assert np.linalg.norm(only.embedding - everyone[0].embedding) < 0.1
    assert abs(only.box[0] - x1) <= 4 and abs(only.box[1] - y1) <= 4  # back in the frame's pixels


def test_an_embedding_at_rest_is_a_fernet_token_that_only_the_keys_open() -> None:
    vector = np.linspace(-0.2, 0.2, EMBEDDING_DIM, dtype=np.float32)
    assert np.array_equal(decode_embedding(encode_embedding(vector)), vector)
    token = seal_embedding(vector, DEV_FERNET_KEY)
    assert encode_embedding(vector) not in token and vector.tobytes() not in token.encode()
    assert np.array_equal(open_embedding(token, DEV_FERNET_KEY), vector)
    with pytest.raises(ValueError):
        encode_embedding(vector[:10])


def test_undecodable_bytes_and_huge_images_are_no_image() -> None:
    import cv2

    assert decode_image(b"not an image at all") is None
    assert decode_image(b"") is None
    for ext in (".jpg", ".png"):
        _, small = cv2.imencode(ext, np.zeros((30, 40, 3), np.uint8))
        assert image_pixels(small.tobytes()) == 1200
    assert image_pixels((PHOTOS / "obama.jpg").read_bytes()) == 800 * 1000
    _, png = cv2.imencode(".png", np.zeros((30, 40, 3), np.uint8))
    bomb = bytearray(png.tobytes())
    bomb[16:24] = (100_000).to_bytes(4, "big") * 2  # the header claims 100 000 x 100 000 pixels
    assert decode_image(bytes(bomb)) is None


def test_the_organizations_policy_defaults_to_no_unknown_faces() -> None:
    assert faces_policy({}) == FacesPolicy(store_unknown=False, sightings_days=30)
    assert faces_policy({"faces": {"store_unknown": True, "sightings_days": 7}}) == FacesPolicy(True, 7)
    assert faces_policy({"faces": {"store_unknown": "yes", "sightings_days": 0}}) == FacesPolicy()
