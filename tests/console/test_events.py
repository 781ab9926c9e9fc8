"""The console's events area (services/console/src/pages/events) in a real browser: e2e/events.spec.ts
against control + live + the recorder + the outbox relay, with a migrated database of its own.

Events reach the database the way the platform writes them: ``event.created`` messages published
to the broker, stored by the recorder (operators' acknowledgements go through control's API, and
reach the other operators' screens as ``event.triaged`` through the outbox relay and live; the spec
signs a second operator in to the API to act while the page is open). The
evidence bundle of one event is built by the correlator's own :class:`EvidenceBuilder` from what the
data plane leaves behind: JPEG frames in the camera's Redis frame stream, PCM chunks in the phone's
audio stream and telemetry rows in PostgreSQL, written into the object store control serves. A small
HTTP endpoint of the test lets the spec ask for a new event while the page is open (published the
same way), to see it arrive over the live feed without a reload.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw
from redis.asyncio import Redis
from sqlalchemy import insert

from tests.console.node import playwright
from tests.console.stack import PASSWORD, REDIS_URL, console_stack
from tests.support.databases import throwaway_database
from tests.support.processes import free_port
from vigia.common.broker.sync import SyncPublisher
from vigia.common.db import make_engine, telemetry
from vigia.common.messages import EventChanged, EventSource, Severity, make, time_ns_to_datetime
from vigia.common.storage import FileStore
from vigia.correlator.evidence import EvidenceBuilder, audio_key, frames_key

pytestmark = pytest.mark.slow

DEMO_EMAIL = "admin@demo.vigia.local"
VIEWER_EMAIL = "viewer@demo.vigia.local"
OPERATOR_EMAIL = "operadora@demo.vigia.local"
ORG_TIME_ZONE = "America/Sao_Paulo"
S = 1_000_000_000
AUDIO_RATE = 16_000
EVIDENCE_MARGIN_S = 3.0
# The events the list starts with (type, severity): four door_forced ones are open for the bulk
# acknowledgement, two per browser project.
SEEDED = [("door_forced", Severity.high)] * 4 + [
    ("loitering", Severity.medium), ("loitering", Severity.low), ("tamper", Severity.critical),
    ("power_loss", Severity.low)]


@dataclass
class Seeded:
    org: str
    camera: str
    device: str
    evidence_event: str
    ids: list[str]


def frame(i: int) -> bytes:
    """A camera frame of someone crossing the yard."""
    image = Image.new("RGB", (320, 240), (40, 48, 56))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20 + 8 * i, 70, 60 + 8 * i, 200), fill=(210, 210, 200))
    draw.text((8, 8), f"portaria {i:02d}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def audio_chunk(k: int) -> bytes:
    """Half a second of 16 kHz PCM16: quiet noise, and a loud 440 Hz burst in chunks 4 and 5."""
    rng = np.random.default_rng(k)
    samples = 0.02 * rng.standard_normal(AUDIO_RATE // 2)
    if k in (4, 5):
        t = np.arange(AUDIO_RATE // 2) / AUDIO_RATE
        samples += 0.6 * np.sin(2 * np.pi * 440 * t)
    return np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()


def event_created(org: str, event_type: str, severity: Severity, started: int, *, ended: int | None = None,
                  site: str = "portaria", sources: list[EventSource] | None = None,
                  event: uuid.UUID | None = None) -> Any:
    """The envelope the correlator publishes for a new incident."""
    data = EventChanged(event=event or uuid.uuid4(), event_type=event_type, severity=severity, score=0.75,
                        started_at=started, ended_at=ended, site=site, sources=sources or [],
                        description=f"{event_type} em {site}")
    return make("event.created", org, "console-events-test", data)


async def build_evidence(database_url: str, objects: Path, org: str, event: str, camera: str, device: str,
                         started: int, ended: int, sources: list[dict[str, Any]]) -> list[str]:
    """What vision and fusion leave behind around the incident, then the correlator's bundle of it."""
    redis = Redis.from_url(REDIS_URL)
    engine = make_engine(database_url, pool_size=1)
    try:
        await redis.delete(frames_key(camera), audio_key(device))
        start = started - int(EVIDENCE_MARGIN_S * S)
        for i in range(30):  # 4 fps over the window (incident ± margin)
            await redis.xadd(frames_key(camera), {"t": start + i * S // 4, "jpeg": frame(i)})
        for k in range(14):  # 7 s of audio in half-second chunks
            await redis.xadd(audio_key(device), {"t": start + k * S // 2, "rate": AUDIO_RATE, "pcm": audio_chunk(k)})
        with engine.begin() as conn:  # 10 Hz telemetry, the field jumping by 40 µT during the incident
            conn.execute(insert(telemetry), [
                {"org_id": uuid.UUID(org), "device_id": uuid.UUID(device),
                 "time": time_ns_to_datetime(start + k * S // 10), "seq": k, "mag_x": 20.0, "mag_y": 30.0,
                 "mag_z": 10.0, "mag_magnitude": 48.0 + (40.0 if 30 <= k < 50 else 0.0) + 0.5 * np.sin(k / 3),
                 "audio_peak": 0.6 if 40 <= k < 60 else 0.02, "humanoid": 30 <= k < 50}
                for k in range(80)])
        builder = EvidenceBuilder(FileStore(objects, "console-events-object-url-secret"), redis, engine,
                                  margin_s=EVIDENCE_MARGIN_S)
        job = {"org": org, "event": event, "site": "portaria", "started_at": started, "ended_at": ended,
               "score": 0.92, "severity": "critical", "devices": [device], "cameras": [camera], "sources": sources}
        names = await builder.build(job)
        assert names is not None, "the bundle was already there"
        return names
    finally:
        await redis.delete(frames_key(camera), audio_key(device))
        await redis.aclose()
        engine.dispose()


class LiveTrigger(ThreadingHTTPServer):
    """``POST /`` publishes a new critical event (as the correlator would) and answers its id."""

    def __init__(self, amqp_url: str, org: str) -> None:
        self.amqp_url, self.org = amqp_url, org
        super().__init__(("127.0.0.1", free_port()), _TriggerHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _TriggerHandler(BaseHTTPRequestHandler):
    server: LiveTrigger

    def do_POST(self) -> None:
        envelope = event_created(self.server.org, "live_check", Severity.critical, time.time_ns(), site="garagem")
        with SyncPublisher(self.server.amqp_url, connection_name="console-events-live") as publisher:
            publisher.publish(envelope)
        body = json.dumps({"id": str(envelope.data.event), "event_type": "live_check"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _seed(http: httpx.Client, amqp_url: str, database_url: str, objects: Path) -> Seeded:
    login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    org = str(login.json()["user"]["org"]["id"])
    http.headers["Authorization"] = f"Bearer {login.json()['access']}"
    assert http.patch("/api/v1/organization/settings", json={"time_zone": ORG_TIME_ZONE}).status_code == 200
    viewer = http.post("/api/v1/users/", json={"email": VIEWER_EMAIL, "password": PASSWORD, "role": "viewer"})
    assert viewer.status_code == 201, viewer.text
    operator = http.post("/api/v1/users/", json={"email": OPERATOR_EMAIL, "password": PASSWORD, "role": "operator"})
    assert operator.status_code == 201, operator.text
    camera = http.post("/api/v1/cameras/", json={"name": "Portaria", "rtsp_url": "rtsp://127.0.0.1:8554/portaria",
                                                 "fps": 4, "site": "portaria"})
    assert camera.status_code == 201, camera.text
    device = http.post("/api/v1/devices/", json={"name": "Celular da guarita", "kind": "phone", "site": "portaria"})
    assert device.status_code == 201, device.text
    camera_id, device_id = camera.json()["id"], device.json()["id"]

    now = time.time_ns()
    # The incident with evidence: a magnetic jump and a loud sound at the phone while the camera saw someone.
    started, ended = now - 8 * S, now - 6 * S
    evidence_event = uuid.uuid4()
    sources = [EventSource(kind="magnetic", ref="a-mag", device=uuid.UUID(device_id), weight=0.4),
               EventSource(kind="audio", ref="a-audio", device=uuid.UUID(device_id), weight=0.3),
               EventSource(kind="person", ref="d-person", camera=uuid.UUID(camera_id), weight=0.3)]
    envelopes = [event_created(org, "intrusion", Severity.critical, started, ended=ended, sources=sources,
                               event=evidence_event)]
    for n, (kind, severity) in enumerate(SEEDED):
        envelopes.append(event_created(org, kind, severity, now - (n + 1) * 60 * S, ended=now - (n + 1) * 59 * S,
                                       site="garagem" if n % 2 else "portaria",
                                       sources=[EventSource(kind="person", ref=f"d{n}", camera=uuid.UUID(camera_id))]
                                       if kind == "door_forced" else []))
    with SyncPublisher(amqp_url, connection_name="console-events-seed") as publisher:
        for envelope in envelopes:
            publisher.publish(envelope)
    ids = [str(e.data.event) for e in envelopes]
    deadline = time.monotonic() + 30
    while True:
        listed = http.get("/api/v1/events/", params={"limit": 100})
        assert listed.status_code == 200, listed.text
        if {row["id"] for row in listed.json()["results"]} >= set(ids):
            break
        assert time.monotonic() < deadline, "the recorder did not store the seeded events"
        time.sleep(0.2)
    # One event an operator already dealt with: resolved through the API, with a note.
    resolved = http.post(f"/api/v1/events/{ids[-1]}/resolve/", json={"note": "queda de energia conhecida"})
    assert resolved.status_code == 200, resolved.text

    source_records = [{"id": s.ref, "kind": s.kind, "detail": s.kind, "time": started, "severity": "high",
                       "device": str(s.device) if s.device else None, "camera": str(s.camera) if s.camera else None,
                       "value": {"magnetic": 40.0, "audio": 78.0}.get(s.kind), "snapshot_key": None}
                      for s in sources]
    names = asyncio.run(build_evidence(database_url, objects, org, str(evidence_event), camera_id, device_id,
                                       started, ended, source_records))
    assert {"video.mp4", "audio.wav", "sensors.csv", "metadata.json", "manifest.json"} <= set(names), names
    bundle = http.get(f"/api/v1/events/{evidence_event}/evidence/")
    assert bundle.status_code == 200 and bundle.json()["ready"], bundle.text
    return Seeded(org=org, camera=camera_id, device=device_id, evidence_event=str(evidence_event), ids=ids)


@pytest.fixture
def events_stack(tmp_path: Path, amqp_url: str, console_dist: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """control, live, the recorder and the outbox relay with the seeded events; yields the console's
    URL and what the spec should expect."""
    with throwaway_database("vigia_console_events") as database_url, \
            console_stack(tmp_path, database_url, amqp_url, console_dist, extra=("recorder", "relay")) as stack:
        try:
            with httpx.Client(base_url=stack.base, timeout=30) as http:
                seeded = _seed(http, amqp_url, database_url, tmp_path / "objects")
            trigger = LiveTrigger(amqp_url, seeded.org)
            server = threading.Thread(target=trigger.serve_forever, daemon=True)
            server.start()
            try:
                yield stack.base, {
                    "VIGIA_CONSOLE_EVIDENCE_EVENT": seeded.evidence_event,
                    "VIGIA_CONSOLE_EVENT_COUNT": str(len(seeded.ids)),
                    "VIGIA_CONSOLE_CAMERA": seeded.camera,
                    "VIGIA_CONSOLE_DEVICE": seeded.device,
                    "VIGIA_CONSOLE_LIVE_TRIGGER": trigger.url,
                    "VIGIA_CONSOLE_VIEWER_EMAIL": VIEWER_EMAIL,
                    "VIGIA_CONSOLE_OPERATOR_EMAIL": OPERATOR_EMAIL,
                }
            finally:
                trigger.shutdown()
                trigger.server_close()
        except BaseException:
            print(stack.tails())
            raise


def test_operators_triage_events_and_open_their_evidence_in_the_console(
        events_stack: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, expected = events_stack
    playwright("events.spec.ts", base, tmp_path, {"VIGIA_CONSOLE_EMAIL": DEMO_EMAIL,
                                                  "VIGIA_CONSOLE_PASSWORD": PASSWORD, **expected}, timeout=420)
