"""Faces on the vision worker, with dlib's shipped models: a real portrait (tests/data/faces) pasted
on the head of a person in ultralytics' bus.jpg, so the OpenCV person detector finds the person and
the face model the face inside its box. A camera whose switch is on publishes whom the face is; a
camera whose switch is off publishes no face; an unknown face is published only where the
organization keeps unknown faces. The switches and enrolled embeddings are read from the migrated
database (cameras, organizations, face_photos), embeddings decrypted with the Fernet keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psycopg
import pytest
from sqlalchemy import insert, text

from vigia.common.broker import EVENTS, AsyncPublisher, BrokerSettings, Consumer
from vigia.common.broker.topology import frame_shard_queue
from vigia.common.db import cameras, make_engine, organizations
from vigia.common.faces import FacesPolicy, Gallery, decode_image, encode_embedding, seal_embedding, shared_model
from vigia.common.messages import FACE_LABEL, Envelope, FrameCaptured, make
from vigia.common.secrets_at_rest import DEV_FERNET_KEY, encrypt
from vigia.vision.detectors import build_detector
from vigia.vision.faces import CameraFaces, FacesDirectory, FacesReader
from vigia.vision.pipeline import PipelineConfig, VisionPipeline
from vigia.vision.worker import VisionWorker

PHOTOS = Path(__file__).resolve().parents[3] / "tests" / "data" / "faces"
ORG = uuid.uuid4()


def photo(name: str) -> np.ndarray:
    image = decode_image((PHOTOS / name).read_bytes())
    assert image is not None
    return image


def embedding(name: str) -> np.ndarray:
    (face,) = shared_model().faces(photo(name))
    return face.embedding


@pytest.fixture(scope="module")
def scene(bus_image: np.ndarray) -> np.ndarray:
    """bus.jpg with obama.jpg's face (90 px) on the head of its nearest passenger (box about 0,322-283,972,
    whose own face it covers)."""
    portrait = photo("obama.jpg")
    (face,) = shared_model().faces(portrait)
    x1, y1, x2, y2 = face.box
    pad = int((x2 - x1) * 0.2)
    head = cv2.resize(portrait[max(0, y1 - pad):y2 + pad, max(0, x1 - pad):x2 + pad], (90, 90))
    image = bus_image.copy()
    image[395:485, 93:183] = head
    return image


def jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return data.tobytes()


async def detections_of(amqp_url: str, scene: np.ndarray, faces: CameraFaces, camera: uuid.UUID,
                        store: Any = None) -> list[Any]:
    """The detections the worker publishes for one frame of ``camera`` sent through RabbitMQ."""
    pipeline = VisionPipeline(build_detector({"type": "opencv"}), None, PipelineConfig(ocr=False), faces=faces)
    async with AsyncPublisher(amqp_url, settings=BrokerSettings(frame_shards=1), declare=True) as publisher:
        events = await publisher.channel.declare_queue("", exclusive=True)
        await events.bind(await publisher.channel.get_exchange(EVENTS), "detection.#")
        worker = VisionWorker(pipeline, publisher.publish_many, store, batch_size=1, batch_wait_ms=0)
        worker.start()
        consumer = Consumer(amqp_url, frame_shard_queue(0), worker.handle, decode="frame", prefetch=2)
        await consumer.start()
        try:
            height, width = scene.shape[:2]
            frame = make("frame.captured", ORG, "test", FrameCaptured(camera=camera, width=width, height=height))
            await publisher.publish_frame(frame, jpeg(scene))
            received: list[Envelope] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                queue = await publisher.channel.declare_queue(frame_shard_queue(0), passive=True)
                message = await events.get(no_ack=True, fail=False)
                if message is not None:
                    received.append(Envelope.from_json(message.body))
                elif received and queue.declaration_result.message_count == 0:
                    break  # the frame was handled and everything it published is here
                else:
                    await asyncio.sleep(0.1)
            return received
        finally:
            await consumer.shutdown()
            await worker.stop()


async def test_a_switched_camera_publishes_whom_the_face_in_a_persons_box_is(
        amqp_url: str, scene: np.ndarray, tmp_path: Path) -> None:
    from vigia.common.settings import CommonSettings
    from vigia.common.storage import ensure_default_buckets, open_store

    store = open_store(f"file://{tmp_path}/objects", CommonSettings())
    ensure_default_buckets(store)
    on, off = uuid.uuid4(), uuid.uuid4()
    barack = uuid.uuid4()
    faces = CameraFaces()
    faces.set(FacesDirectory({str(on): ORG}, {ORG: Gallery([(barack, embedding("obama2.jpg")),
                                                            (uuid.uuid4(), embedding("biden.jpg"))])},
                             {ORG: FacesPolicy()}))
    seen = await detections_of(amqp_url, scene, faces, on, store)
    people = [e for e in seen if e.data.label == "person"]
    (face,) = [e for e in seen if e.data.label == FACE_LABEL]
    assert face.data.identity == barack and 0 < face.data.identity_distance < 0.6
    box = face.data.box
    assert 85 <= box.x1 < box.x2 <= 190 and 385 <= box.y1 < box.y2 <= 495  # where the face was pasted
    owner = next(p for p in people if p.data.box.x1 <= box.x1 and box.x2 <= p.data.box.x2)
    assert face.data.track == f"{owner.data.track}:face" and face.data.frame == owner.data.frame
    assert store.get("snapshots", face.data.crop_key)[:2] == b"\xff\xd8"
    assert len({e.id for e in seen}) == len(seen)  # the face's id is the frame's next detection id
    assert [e.data.label for e in await detections_of(amqp_url, scene, faces, off)].count(FACE_LABEL) == 0
    assert FACE_LABEL not in [e.data.label for e in await detections_of(amqp_url, scene, CameraFaces(), on)]


async def test_an_unknown_face_is_published_only_where_the_organization_keeps_unknown_faces(
        amqp_url: str, scene: np.ndarray) -> None:
    camera = uuid.uuid4()
    strangers = Gallery([(uuid.uuid4(), embedding("biden.jpg"))])
    faces = CameraFaces()
    faces.set(FacesDirectory({str(camera): ORG}, {ORG: strangers}, {ORG: FacesPolicy(store_unknown=False)}))
    assert FACE_LABEL not in [e.data.label for e in await detections_of(amqp_url, scene, faces, camera)]
    faces.set(FacesDirectory({str(camera): ORG}, {ORG: strangers}, {ORG: FacesPolicy(store_unknown=True)}))
    (face,) = [e for e in await detections_of(amqp_url, scene, faces, camera) if e.data.label == FACE_LABEL]
    assert face.data.identity is None and face.data.identity_distance >= 0.6


@pytest.fixture
def database_url(transactional_db: Any) -> str:
    from django.db import connection

    cfg = connection.settings_dict
    return f"postgresql://{cfg['USER']}@{cfg['HOST']}:{cfg['PORT']}/{cfg['NAME']}"


async def test_the_reader_takes_switched_cameras_policies_and_embeddings_from_the_database(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    org, now = uuid.uuid4(), datetime.now(UTC)
    on, off, person = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    vector = embedding("obama.jpg")
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org, name="Faces", slug=f"f-{org.hex[:8]}", created_at=now,
                                                  settings={"faces": {"store_unknown": True}}))
        for camera, switch in ((on, True), (off, False)):
            conn.execute(insert(cameras).values(
                id=camera, org_id=org, name=f"cam-{camera.hex[:6]}", rtsp_url_encrypted=encrypt("rtsp://h/s",
                DEV_FERNET_KEY), fps=1.0, zones=[], location="", site="", enabled=True, status="online", version=1,
                created_at=now, updated_at=now))
            conn.execute(text("UPDATE cameras SET faces = :on WHERE id = :id"), {"on": switch, "id": camera})
        conn.execute(text("INSERT INTO face_people (id, org_id, name, consent_note, created_at, updated_at) "
                          "VALUES (:id, :org, 'Barack', 'signed', now(), now())"), {"id": person, "org": org})
        add_photo = text("INSERT INTO face_photos (id, org_id, person_id, photo_encrypted, embedding_encrypted, "
                         "face_box, width, height, created_at) VALUES (gen_random_uuid(), :org, :person, 'x', "
                         ":token, '{}', 1, 1, now())")
        conn.execute(add_photo, {"org": org, "person": person, "token": seal_embedding(vector, DEV_FERNET_KEY)})
    reader = FacesReader(DEV_FERNET_KEY)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        first = await reader.read(conn)
        assert first.cameras == {str(on): org} and first.policies[org] == FacesPolicy(store_unknown=True)
        gallery = first.galleries[org]
        assert gallery.people == [person] and np.array_equal(gallery.vectors[0], vector)
        assert (await reader.read(conn)).galleries[org] is gallery  # unchanged photos: not decrypted again
        with engine.begin() as sync:
            sync.execute(add_photo, {"org": org, "person": person,
                                     "token": encrypt(encode_embedding(vector * 0.5), DEV_FERNET_KEY)})
        assert len((await reader.read(conn)).galleries[org]) == 2
        with engine.begin() as sync:
            sync.execute(text("UPDATE cameras SET faces = false WHERE id = :id"), {"id": on})
        assert (await reader.read(conn)) == FacesDirectory({}, {}, {})
    engine.dispose()
