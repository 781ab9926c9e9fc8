"""Enrolment: a photo in, its one face's embedding out, both stored encrypted (control computes the
embedding itself, with the model vision uses: :mod:`vigia.common.faces`)."""

from __future__ import annotations

import base64

import cv2
from rest_framework import serializers

from vigia.common.faces import MAX_PIXELS, decode_image, encode_embedding, image_pixels, shared_model
from vigia.control.core import crypto
from vigia.control.faces.models import EnrolledPerson, FacePhoto

#: Photos are kept at most this many pixels on their longer side (enough for the 150 px the
#: embedding is computed from; smaller rows).
STORED_SIDE = 1024


def add_photo(person: EnrolledPerson, data: bytes, field: str = "image") -> FacePhoto:
    """Store ``data`` (an image file's bytes) as a photo of ``person`` with its face's embedding.
    Raises a ValidationError naming ``field`` when it is no image, shows no face or several."""
    if (image_pixels(data) or 0) > MAX_PIXELS:
        raise serializers.ValidationError({field: [f"the photo has more than {MAX_PIXELS // 1_000_000} megapixels"]})
    image = decode_image(data)
    if image is None:
        raise serializers.ValidationError({field: ["not an image this server can read (JPEG or PNG)"]})
    scale = STORED_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    faces = shared_model().faces(image)
    if not faces:
        raise serializers.ValidationError({field: ["no face found in the photo: upload one where the face is "
                                                   "frontal, lit and at least 80 px wide"]})
    if len(faces) > 1:
        raise serializers.ValidationError({field: [f"{len(faces)} faces in the photo: upload one where the person "
                                                   "is alone"]})
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:  # pragma: no cover - OpenCV encodes any image it decoded
        raise serializers.ValidationError({field: ["the photo could not be stored"]})
    (face,) = faces
    x1, y1, x2, y2 = face.box
    return FacePhoto.objects.create(
        org_id=person.org_id, person=person,
        photo_encrypted=crypto.encrypt(base64.b64encode(jpeg.tobytes()).decode("ascii")),
        embedding_encrypted=crypto.encrypt(encode_embedding(face.embedding)),
        face_box={"x1": x1, "y1": y1, "x2": x2, "y2": y2}, width=image.shape[1], height=image.shape[0])


def photo_jpeg(photo: FacePhoto) -> bytes:
    """The stored photo's JPEG bytes, decrypted."""
    return base64.b64decode(crypto.decrypt(photo.photo_encrypted))
