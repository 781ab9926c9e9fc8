"""The console's faces and false-alarm models pages (services/console/src/pages/faces, .../models)
and the events' false-alarm mark, in Debian's Chromium against a real stack: control (serving the
build), live and the recorder, on a throwaway database and a vhost of the test's own.

Data arrives the way the platform writes it: a person enrolled through the API with a real photo
(tests/data/faces, see its LICENCE), whose face control embeds with vision's model; face
detections (``detection.created``, label face, the person's identity or none; the known one's crop
in the object store control serves) and scored events
(``event.created`` with the classifier's score and mark) published to the broker and stored by the
recorder. Classifier versions are rows the trainer would have written (``classifier_models``,
inserted here: training one takes minutes). Then e2e/faces-models.spec.ts runs at desktop and phone
sizes: it activates a version and asks for a training run, filters the events by the mark, enrols a
person with a photo (and sees the 400 for a photo of several faces), searches the sightings,
switches a camera's face recognition and saves the face and false-alarm settings.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from tests.console.node import playwright
from tests.console.stack import PASSWORD, console_stack
from tests.support.databases import throwaway_database
from tests.support.processes import ROOT
from vigia.common.broker.sync import SyncPublisher
from vigia.common.db import classifier_models, make_engine
from vigia.common.messages import Box, DetectionCreated, EventChanged, Severity, make
from vigia.common.storage import FileStore
from vigia.control.config import ControlSettings

pytestmark = pytest.mark.slow

DEMO_EMAIL = "admin@demo.vigia.local"
OPERATOR_EMAIL = "operadora@demo.vigia.local"
FACES = ROOT / "tests" / "data" / "faces"
SECOND = 10**9


def _until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _versions(database_url: str, org: str) -> dict[int, str]:
    """Three versions as the trainer lists them (v3 active), with held-out metrics."""
    now = datetime.now(UTC)
    ids = {version: uuid.uuid4() for version in (1, 2, 3)}
    rows = [{"id": ids[v], "org_id": uuid.UUID(org), "version": v, "created_at": now - timedelta(days=4 - v),
             "artifact_key": f"false-alarms/{org}/{ids[v]}/model.pt", "dataset_hash": f"{v:x}" * 64,
             "samples": 100 * v, "parameters": {"epochs": 10},
             "metrics": {"accuracy": 0.80 + v / 100, "precision": 0.90 + v / 100, "recall": 0.70 + v / 100,
                         "f1": 0.78 + v / 100, "auc": 0.85 + v / 100, "loss": 0.3,
                         "train_samples": 75 * v, "test_samples": 25 * v},
             "is_active": v == 3, "activated_at": now if v == 3 else None} for v in (1, 2, 3)]
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(insert(classifier_models), rows)
    finally:
        engine.dispose()
    return {v: str(ids[v]) for v in ids}


def _seed(http: httpx.Client, auth: dict[str, str], org: str, amqp_url: str, database_url: str,
          objects: Path) -> dict[str, str]:
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = http.post(path, json=body, headers=auth)
        assert answer.status_code == 201, f"POST {path}: {answer.status_code} {answer.text}"
        return dict(answer.json())

    post("/api/v1/users/", {"email": OPERATOR_EMAIL, "password": PASSWORD, "role": "operator"})
    camera = post("/api/v1/cameras/", {"name": "Recepção", "rtsp_url": "rtsp://127.0.0.1:8554/lobby", "site": "sede"})
    versions = _versions(database_url, org)
    person = post("/api/v1/faces/people/", {"name": "Barack Obama", "consent_note": "Termo assinado em 01/12/2026"})
    photo = http.post(f"/api/v1/faces/people/{person['id']}/photos/", headers=auth,
                      files={"image": ("obama.jpg", (FACES / "obama.jpg").read_bytes(), "image/jpeg")})
    assert photo.status_code == 201, photo.text

    # The known face's crop and frame where vision would have put them (the unknown one has none).
    store = FileStore(str(objects), ControlSettings().object_url_secret.get_secret_value())
    crop, frame = f"{org}/{camera['id']}/face-0.jpg", f"{org}/{camera['id']}/frame-0.jpg"
    store.put("snapshots", crop, (FACES / "obama2.jpg").read_bytes(), "image/jpeg")
    store.put("snapshots", frame, (FACES / "obama3.jpg").read_bytes(), "image/jpeg")
    now = time.time_ns()
    with SyncPublisher(amqp_url, connection_name="console-faces-models") as publisher:
        for index, identity in enumerate((uuid.UUID(person["id"]), None)):
            captured = now - (10 - index) * 60 * SECOND
            publisher.publish(make("detection.created", org, "vision-console-test", DetectionCreated(
                camera=uuid.UUID(camera["id"]), frame=uuid.uuid4(), captured_at=captured, label="face",
                confidence=0.99, box=Box(x1=100, y1=80, x2=160, y2=150), frame_width=640, frame_height=480,
                track=f"{index}:face", identity=identity, identity_distance=0.41 if identity else 0.72,
                crop_key=crop if identity else None, snapshot_key=frame if identity else None),
                time_ns=captured + SECOND))
        for event_type, score, likely in (("intrusion", 0.91, True), ("door_forced", 0.12, False)):
            started = now - 5 * 60 * SECOND
            publisher.publish(make("event.created", org, "correlator-console-test", EventChanged(
                event=uuid.uuid4(), event_type=event_type, severity=Severity.high, score=1.2, started_at=started,
                site="sede", description=f"{event_type} na sede", false_alarm_score=score,
                false_alarm_model=uuid.UUID(versions[3]), likely_false_alarm=likely), time_ns=started))

    def count(path: str, **query: Any) -> int:
        answer = http.get(path, params=query, headers=auth)
        return len(answer.json()["results"]) if answer.status_code == 200 else -1

    _until("the recorder's sightings", lambda: count("/api/v1/faces/matches/") == 2)
    _until("the recorder's events", lambda: count("/api/v1/events/") == 2)
    assert count("/api/v1/events/", likely_false_alarm="true") == 1
    return {"VIGIA_CONSOLE_CAMERA": camera["id"], "VIGIA_CONSOLE_OPERATOR_EMAIL": OPERATOR_EMAIL,
            "VIGIA_CONSOLE_FACES": str(FACES)}


def test_faces_and_models_in_the_browser(tmp_path: Path, amqp_url: str, console_dist: Path) -> None:
    with throwaway_database("vigia_console_fm") as database_url, \
            console_stack(tmp_path, database_url, amqp_url, console_dist, extra=("recorder",)) as stack:
        try:
            with httpx.Client(base_url=stack.base, timeout=60) as http:
                login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": PASSWORD})
                assert login.status_code == 200, login.text
                org = login.json()["user"]["org"]["id"]
                auth = {"Authorization": f"Bearer {login.json()['access']}"}
                expected = _seed(http, auth, org, amqp_url, database_url, tmp_path / "objects")
            env = {"VIGIA_CONSOLE_EMAIL": DEMO_EMAIL, "VIGIA_CONSOLE_PASSWORD": PASSWORD, **expected}
            playwright("faces-models.spec.ts", stack.base, tmp_path, env)
        except BaseException:
            print(stack.tails())
            raise
