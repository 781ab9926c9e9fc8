"""Face recognition, the one definition control (enrolment) and vision (cameras) share.

The models are dlib's, from registry packages and never downloaded at run time: ``dlib-bin`` (the
prebuilt dlib: its HOG frontal face detector ships inside it) and ``face-recognition-models`` (the
5-point landmark predictor that aligns a face and the ResNet that turns it into a 128-d embedding;
two faces of one person lie within :data:`MATCH_DISTANCE` of each other, Euclidean). Their files
are found without importing ``face_recognition_models`` itself, whose ``__init__`` needs
``pkg_resources`` (gone from recent setuptools).

At rest an embedding is a Fernet token (:func:`seal_embedding`: MultiFernet over the keys of
``VIGIA_FERNET_KEYS``, like cameras' RTSP URLs) of its float32 little-endian bytes in base64.

An organization's face settings live in its ``settings["faces"]`` (:class:`FacesPolicy`, in
:mod:`vigia.common.privacy` with the other retentions): whether unknown faces are published and kept
at all, and how many days the sightings are kept.
"""

from __future__ import annotations

import base64
import importlib.util
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from vigia.common.messages import FACE_LABEL
from vigia.common.privacy import SIGHTINGS_DAYS_DEFAULT, SIGHTINGS_DAYS_MAX, FacesPolicy, faces_policy
from vigia.common.secrets_at_rest import decrypt, encrypt

__all__ = ["EMBEDDING_DIM", "FACE_LABEL", "MATCH_DISTANCE", "SIGHTINGS_DAYS_DEFAULT", "SIGHTINGS_DAYS_MAX", "Face",
           "FaceMatch", "FaceModel", "FacesPolicy", "Gallery", "decode_image", "faces_policy", "open_embedding",
           "seal_embedding", "shared_model"]

EMBEDDING_DIM = 128
#: dlib's model: two faces closer than this are one person (its authors' threshold, 99.38 % on LFW).
MATCH_DISTANCE = 0.6

_LANDMARKS = "shape_predictor_5_face_landmarks.dat"
_RESNET = "dlib_face_recognition_resnet_model_v1.dat"


class FaceModelUnavailable(RuntimeError):
    """dlib or the face-recognition-models files are not installed."""


def models_dir() -> Path:
    """The folder of face-recognition-models' files (without running its ``__init__``)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelUnavailable("the face-recognition-models package is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    for name in (_LANDMARKS, _RESNET):
        if not (folder / name).is_file():
            raise FaceModelUnavailable(f"{name} is missing from {folder}")
    return folder


@dataclass(frozen=True)
class Face:
    """A face found in an image: its box in that image's pixels, the detector's score and its
    embedding (128 float32)."""

    box: tuple[int, int, int, int]
    score: float
    embedding: np.ndarray


class FaceModel:
    """dlib's HOG detector + 5-point alignment + ResNet embedding. Thread-safe (one lock: dlib's
    objects are not), CPU; about a tenth of a second per face on one core (tests/bench/bench_faces.py)."""

    def __init__(self, upsample: int = 1) -> None:
        try:
            import dlib
        except ImportError as exc:  # pragma: no cover - an install without the faces dependencies
            raise FaceModelUnavailable("dlib is not installed (pip package dlib-bin)") from exc
        folder = models_dir()
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(folder / _LANDMARKS))
        self._resnet = dlib.face_recognition_model_v1(str(folder / _RESNET))
        self.upsample = upsample
        self._lock = threading.Lock()

    def faces(self, image: np.ndarray, region: tuple[float, float, float, float] | None = None,
              *, bgr: bool = True, min_size: int = 20) -> list[Face]:
        """The faces in ``image`` (BGR unless ``bgr=False``), only those inside ``region`` (x1, y1,
        x2, y2 in pixels, e.g. a person's box) when given; boxes are in ``image``'s pixels. Faces
        narrower than ``min_size`` px are too small to embed reliably and are left out."""
        height, width = image.shape[:2]
        x0, y0, x1, y1 = 0, 0, width, height
        if region is not None:
            x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
            x1, y1 = min(width, int(np.ceil(region[2]))), min(height, int(np.ceil(region[3])))
            if x1 - x0 < min_size or y1 - y0 < min_size:
                return []
        crop = image[y0:y1, x0:x1]
        rgb = np.ascontiguousarray(crop[:, :, ::-1] if bgr else crop)
        # A small crop (a far person) is searched at twice its size: HOG finds faces from ~80 px.
        upsample = self.upsample + (1 if max(crop.shape[:2]) < 400 else 0)
        with self._lock:
            found, scores, _ = self._detector.run(rgb, upsample, 0.0)
            kept = [(r, s) for r, s in zip(found, scores, strict=True) if r.width() >= min_size]
            if not kept:
                return []
            shapes = self._dlib.full_object_detections()
            for rect, _ in kept:
                shapes.append(self._landmarks(rgb, rect))
            vectors = self._resnet.compute_face_descriptor(rgb, shapes)
        out: list[Face] = []
        for (rect, score), vector in zip(kept, vectors, strict=True):
            box = (max(0, rect.left()) + x0, max(0, rect.top()) + y0,
                   min(crop.shape[1], rect.right()) + x0, min(crop.shape[0], rect.bottom()) + y0)
            out.append(Face(box, float(score), np.asarray(vector, dtype=np.float32)))
        return out


_shared_lock = threading.Lock()


@lru_cache(maxsize=1)
def _shared() -> FaceModel:
    return FaceModel()


def shared_model() -> FaceModel:
    """The process's one :class:`FaceModel`, loaded on first use (about a second)."""
    with _shared_lock:
        return _shared()


#: Larger images are refused before decoding (a small file can unpack to gigabytes).
MAX_PIXELS = 40_000_000


def image_pixels(data: bytes) -> int | None:
    """Width x height from a PNG or JPEG header without decoding it; None when neither is found."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big") * int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker, length = data[at + 1], int.from_bytes(data[at + 2:at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
            return int.from_bytes(data[at + 5:at + 7], "big") * int.from_bytes(data[at + 7:at + 9], "big")
        at += 2 + length
    return None


def decode_image(data: bytes) -> np.ndarray | None:
    """A BGR image from JPEG/PNG/... bytes, or None when they are not a decodable image or hold
    more than :data:`MAX_PIXELS`."""
    import cv2

    if len(data) < 8 or (image_pixels(data) or 0) > MAX_PIXELS:
        return None
    try:
        image: Any = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    if image is None or image.size == 0:
        return None
    return image


# --- embeddings at rest ---------------------------------------------------------------------


def encode_embedding(vector: np.ndarray) -> str:
    """An embedding's float32 little-endian bytes, base64."""
    array = np.asarray(vector, dtype="<f4").reshape(-1)
    if array.shape != (EMBEDDING_DIM,):
        raise ValueError(f"an embedding has {EMBEDDING_DIM} values, not {array.size}")
    return base64.b64encode(array.tobytes()).decode("ascii")


def decode_embedding(text: str) -> np.ndarray:
    array = np.frombuffer(base64.b64decode(text), dtype="<f4")
    if array.shape != (EMBEDDING_DIM,):
        raise ValueError(f"an embedding has {EMBEDDING_DIM} values, not {array.size}")
    return array.astype(np.float32)


def seal_embedding(vector: np.ndarray, keys: str) -> str:
    """The Fernet token an embedding is stored as (first of ``keys`` encrypts)."""
    return encrypt(encode_embedding(vector), keys)


def open_embedding(token: str, keys: str) -> np.ndarray:
    """The embedding of a token made by :func:`seal_embedding`, with any of ``keys``."""
    return decode_embedding(decrypt(token, keys))


# --- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceMatch:
    """Whom a face is: the enrolled ``person`` whose nearest embedding lies within the threshold
    (None: unknown), and the ``distance`` to the nearest enrolled embedding (None: nobody enrolled)."""

    person: uuid.UUID | None
    distance: float | None


class Gallery:
    """An organization's enrolled embeddings (several per person), matched by nearest neighbour."""

    def __init__(self, enrolled: Iterable[tuple[uuid.UUID, np.ndarray]] = ()) -> None:
        pairs = list(enrolled)
        self.people = [person for person, _ in pairs]
        self.vectors = (np.stack([np.asarray(v, dtype=np.float32) for _, v in pairs])
                        if pairs else np.zeros((0, EMBEDDING_DIM), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.people)

    def match(self, embedding: np.ndarray, threshold: float = MATCH_DISTANCE) -> FaceMatch:
        if not self.people:
            return FaceMatch(None, None)
        distances = np.linalg.norm(self.vectors - np.asarray(embedding, dtype=np.float32), axis=1)
        nearest = int(np.argmin(distances))
        distance = round(float(distances[nearest]), 4)
        return FaceMatch(self.people[nearest] if distance < threshold else None, distance)


def distances(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """Pairwise Euclidean distances of two lists of embeddings (len(a) x len(b))."""
    left, right = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    return np.linalg.norm(left[:, None, :] - right[None, :, :], axis=2)
