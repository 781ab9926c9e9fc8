"""Faces on the cameras whose ``faces`` switch is on: found inside person boxes only, embedded, and
matched against the camera's organization's enrolled people.

:class:`CameraFaces` is what the pipeline asks (on its finishing thread); :func:`keep_faces` keeps
it current from the database (tables ``cameras``, ``organizations``, ``face_photos``) every
``VIGIA_VISION_FACES_REFRESH_S``, the way the motion gate's zones are kept: an enrolment reaches
the cameras within that delay, without a message. An organization's embeddings are decrypted again
only when its photos changed (their count or newest time). The model loads the first time a camera
needs it, so workers without such cameras never hold it.

Whom a face is goes out as a detection (label ``face``, ``identity`` and ``identity_distance``, the
person's track id and ``:face``). A face matching nobody is dropped, unless its organization keeps
unknown faces (``settings.faces.store_unknown``): by default Vigia publishes, and so stores, only
sightings of enrolled people.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from prometheus_client import Counter, Histogram

from vigia.common.faces import (
    MATCH_DISTANCE,
    FaceModel,
    FacesPolicy,
    Gallery,
    faces_policy,
    open_embedding,
)

log = logging.getLogger(__name__)

FACES = Counter("vigia_vision_faces_total", "Faces found in person boxes, by outcome (known: matched an "
                "enrolled person; unknown_published / unknown_dropped: matched nobody, the organization keeps "
                "unknown faces or not)", ["outcome"])
FACE_SECONDS = Histogram("vigia_vision_face_seconds", "Face detection and embedding time per frame that needed it",
                         buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5))


@dataclass(frozen=True)
class FaceResult:
    """A face found in the box of the frame's ``person``-th object, and whom it is (``identity``
    None: nobody enrolled, published only where the organization keeps unknown faces)."""

    person: int
    box: tuple[float, float, float, float]
    score: float
    identity: uuid.UUID | None
    distance: float | None


@dataclass(frozen=True)
class FacesDirectory:
    """One reading of the database: cameras with faces on (camera -> organization), and each of
    those organizations' gallery and policy."""

    cameras: dict[str, uuid.UUID]
    galleries: dict[uuid.UUID, Gallery]
    policies: dict[uuid.UUID, FacesPolicy]


class CameraFaces:
    """Faces of the cameras whose switch is on (see the module docstring)."""

    def __init__(self, model: FaceModel | None = None, *, threshold: float = MATCH_DISTANCE,
                 min_person_height: int = 80) -> None:
        self._model = model
        self._model_lock = threading.Lock()
        self.threshold = threshold
        self.min_person_height = min_person_height
        self.directory = FacesDirectory({}, {}, {})

    def set(self, directory: FacesDirectory) -> None:
        self.directory = directory  # one reference swap: the finishing thread sees all or nothing

    def on(self, camera: str) -> bool:
        return camera in self.directory.cameras

    def model(self) -> FaceModel:
        with self._model_lock:
            if self._model is None:
                self._model = FaceModel()
            return self._model

    def recognise(self, camera: str, image: np.ndarray,
                  people: Sequence[tuple[int, tuple[float, float, float, float]]]) -> list[FaceResult]:
        """The faces inside the person boxes ``people`` ((object index, box)) of a frame of
        ``camera``, matched; [] when the camera's switch is off. At most one face per person: the
        detector's strongest inside the box."""
        directory = self.directory
        org = directory.cameras.get(camera)
        if org is None or not people:
            return []
        gallery = directory.galleries.get(org) or Gallery()
        keep_unknown = directory.policies.get(org, FacesPolicy()).store_unknown
        model = self.model()
        started = time.perf_counter()
        out: list[FaceResult] = []
        for index, box in people:
            if box[3] - box[1] < self.min_person_height:
                continue  # too far for a face the embedding can tell apart
            found = model.faces(image, box)
            if not found:
                continue
            face = max(found, key=lambda f: f.score)
            match = gallery.match(face.embedding, self.threshold)
            if match.person is None and not keep_unknown:
                FACES.labels("unknown_dropped").inc()
                continue
            FACES.labels("known" if match.person is not None else "unknown_published").inc()
            x1, y1, x2, y2 = face.box
            out.append(FaceResult(index, (float(x1), float(y1), float(x2), float(y2)), face.score, match.person,
                                  match.distance))
        FACE_SECONDS.observe(time.perf_counter() - started)
        return out


# --- reading the database -------------------------------------------------------------------

_CAMERAS = "SELECT id, org_id FROM cameras WHERE faces AND enabled"
_POLICIES = "SELECT id, settings FROM organizations WHERE id = ANY(%s)"
_VERSIONS = "SELECT org_id, count(*), max(created_at) FROM face_photos WHERE org_id = ANY(%s) GROUP BY org_id"
_EMBEDDINGS = "SELECT org_id, person_id, embedding_encrypted FROM face_photos WHERE org_id = ANY(%s)"


class FacesReader:
    """Reads a :class:`FacesDirectory`, decrypting an organization's embeddings only when its photos
    changed since the last reading."""

    def __init__(self, fernet_keys: str) -> None:
        self.keys = fernet_keys
        self._galleries: dict[uuid.UUID, tuple[Any, Gallery]] = {}

    async def read(self, conn: Any) -> FacesDirectory:
        cameras = {str(camera): org for camera, org in await (await conn.execute(_CAMERAS)).fetchall()}
        orgs = sorted(set(cameras.values()))
        policies = {org: faces_policy(settings)
                    for org, settings in await (await conn.execute(_POLICIES, (orgs,))).fetchall()}
        versions = {org: (count, newest) for org, count, newest in
                    await (await conn.execute(_VERSIONS, (orgs,))).fetchall()}
        stale = [org for org in orgs if org not in self._galleries or self._galleries[org][0] != versions.get(org)]
        if stale:
            enrolled: dict[uuid.UUID, list[tuple[uuid.UUID, np.ndarray]]] = {org: [] for org in stale}
            for org, person, token in await (await conn.execute(_EMBEDDINGS, (stale,))).fetchall():
                try:
                    enrolled[org].append((person, open_embedding(token, self.keys)))
                except Exception:  # a key rotated away or a damaged row: that photo is left out, said once
                    log.warning("an enrolled face cannot be decrypted with VIGIA_FERNET_KEYS; left out",
                                extra={"org": str(org), "person": str(person)})
            for org in stale:
                self._galleries[org] = (versions.get(org), Gallery(enrolled[org]))
        for org in [o for o in self._galleries if o not in cameras.values()]:
            del self._galleries[org]  # no camera of theirs recognises faces any more: forget them
        return FacesDirectory(cameras, {org: self._galleries[org][1] for org in orgs}, policies)


async def keep_faces(faces: CameraFaces, database_url: str, fernet_keys: str, refresh_s: float) -> None:
    """Keep ``faces`` current from the database every ``refresh_s`` (see the module docstring).
    While the database cannot be read the last reading stays (none at first: no face is sought)."""
    import psycopg

    reader = FacesReader(fernet_keys)
    failing = False
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(database_url, connect_timeout=5) as conn:
                directory = await reader.read(conn)
            if directory.cameras:
                await asyncio.to_thread(faces.model)  # load it off the event loop, before a frame needs it
            faces.set(directory)
            failing = False
        except Exception as exc:  # the database away or not migrated, the models missing
            if not failing:
                log.warning("cannot read the cameras' face settings or load the face model (retrying every "
                            "%.0f s): %s: %s", refresh_s, type(exc).__name__, str(exc)[:200])
            failing = True
        await asyncio.sleep(refresh_s)
