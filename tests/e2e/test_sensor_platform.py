"""The sensor pipeline end to end (issue #4 acceptance), every service a real process: control
API + outbox relay + recorder, ingest-sensors, fusion, correlator and live, on a database, broker
vhost, Redis database and object-store directory of their own.

A phone and a camera share the site ``e2e``. The phone streams normal packets (phonesim's signal
generator, no injected anomalies) and quiet audio over the WebSocket protocol; at one moment its
magnetometer jumps by 40 µT and its microphone hears a loud 10 Hz infrasound, while the camera
"sees a person" (a ``detection.created`` as vision publishes it, and JPEG frames in the camera's
Redis frame stream as vision writes them). Exactly one correlated event with a score of at least
0.6 reaches the API and the operators' WebSocket, and its evidence bundle opens: the mp4 through
ffprobe, the wav through soundfile, the csv holds the telemetry rows of the evidence window, the
checksums match the manifest. The same phone first sends a packet naming another
organization's device: it gets an error frame naming ``device_id`` and nothing of it is stored.

Detection quality: phonesim's generator (fixed seed, every anomaly kind) runs through fusion's
detectors in process with the default settings; per kind, recall >= 0.95 and precision >= 0.9
against phonesim's ground-truth log.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import json
import math
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import orjson
import soundfile
import websockets
from pydantic import TypeAdapter

from tests.e2e.sensor_stack import SensorStack, add_phones, sensor_stack
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import AudioChunk, SensorBatch, SensorPacket, TimeNs, make, time_ns_to_datetime
from vigia.fusion.config import FusionSettings
from vigia.fusion.service import FusionService
from vigia.fusion.state import DeviceStates
from vigia.simulators.phonesim.signals import PhoneSignals, SignalConfig
from vigia.simulators.phonesim.truth import TruthLog, read_truth

NS = 1_000_000_000
RATE_HZ = 10
AUDIO_RATE = 16_000
CHUNK_S = 0.5
ANOMALY_AT_S = 5.0  # after the detectors' windows filled (20 samples at 10 Hz)
SPIKE_PACKETS = 6  # 0.6 s of +40 µT
SPIKE_UT = 40.0
STREAM_S = 10.0  # covers the evidence window (incident ± margin) with telemetry
PERSON_AT_S = ANOMALY_AT_S + 0.2
EVIDENCE_MARGIN_S = 3.0

_parse_time = TypeAdapter(TimeNs).validate_python

SERVICES = ("control", "relay", "recorder", "ingest-sensors", "fusion", "correlator", "live")
ENV = {
    "correlator": {"VIGIA_INCIDENT_QUIET_S": "2", "VIGIA_EVIDENCE_MARGIN_S": str(EVIDENCE_MARGIN_S),
                   "VIGIA_EVIDENCE_DELAY_S": "0.5", "VIGIA_CORRELATOR_TICK_S": "0.2"},
    "fusion": {"VIGIA_FUSION_BATCH_LINGER_MS": "5"},
    "ingest-sensors": {"VIGIA_SENSORS_BATCH_LINGER_MS": "10"},
}


@dataclass
class PhoneSession:
    """What came back on the phone's socket."""

    hello: dict[str, Any] = field(default_factory=dict)
    acked: int = -1
    errors: list[dict[str, Any]] = field(default_factory=list)
    spike_seqs: list[int] = field(default_factory=list)
    packet_seqs: list[int] = field(default_factory=list)  # the packets of the phone's own device
    sent_seqs: list[int] = field(default_factory=list)  # every item, in order


def quiet_audio(k: int) -> np.ndarray:
    return 0.003 * np.random.default_rng([4, k]).standard_normal(int(AUDIO_RATE * CHUNK_S))


def infrasound_audio(k: int) -> np.ndarray:
    t = np.arange(int(AUDIO_RATE * CHUNK_S)) / AUDIO_RATE
    return quiet_audio(k) + 0.3 * np.sin(2 * np.pi * 10.0 * t)


def pcm16(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()


async def run_phone(url: str, token: str, epoch_ns: int, other_org_device: uuid.UUID,
                    session: PhoneSession, anomaly_sent: asyncio.Event) -> None:
    """Stream STREAM_S seconds of packets (10 Hz) and audio chunks (0.5 s, 16 kHz) in real time,
    the anomaly at ANOMALY_AT_S; first, one packet naming another organization's device."""
    signals = PhoneSignals(SignalConfig(rate=RATE_HZ, audio_rate=0, kinds=()), seed=11, index=0, epoch_ns=epoch_ns)
    seq = time.time_ns() // 1000
    async with websockets.connect(f"{url}?token={token}", max_size=2**20, compression=None) as ws:
        session.hello = orjson.loads(await ws.recv())

        async def read() -> None:
            async for raw in ws:
                message = orjson.loads(raw)
                if message.get("type") == "ack":
                    session.acked = max(session.acked, int(message["seq"]))
                elif message.get("type") == "error":
                    session.errors.append(message)

        reader = asyncio.create_task(read())
        foreign = {**signals.packet(0), "seq": seq, "device_id": str(other_org_device)}
        await ws.send(orjson.dumps(foreign).decode())
        session.sent_seqs.append(seq)
        chunks = 0
        for i in range(1, int(STREAM_S * RATE_HZ)):
            due = signals.packet_time(i)
            await asyncio.sleep(max(0.0, (due - time.time_ns()) / NS))
            while epoch_ns + int((chunks + 1) * CHUNK_S * NS) <= due:  # a chunk is sent once recorded
                seq += 1
                start = epoch_ns + int(chunks * CHUNK_S * NS)
                anomalous = start == epoch_ns + int(ANOMALY_AT_S * NS)
                samples = infrasound_audio(chunks) if anomalous else quiet_audio(chunks)
                await ws.send(orjson.dumps({"type": "audio", "seq": seq, "timestamp": start,
                                            "sample_rate": AUDIO_RATE}).decode())
                await ws.send(pcm16(samples))
                session.sent_seqs.append(seq)
                if anomalous:
                    anomaly_sent.set()
                chunks += 1
            packet = signals.packet(i)
            seq += 1
            packet["seq"] = seq
            if 0 <= due - (epoch_ns + int(ANOMALY_AT_S * NS)) < SPIKE_PACKETS * NS // RATE_HZ:
                m = packet["magnetometer"]
                scale = (m["magnitude"] + SPIKE_UT) / m["magnitude"]
                packet["magnetometer"] = {axis: round(value * scale, 5) for axis, value in m.items()}
                session.spike_seqs.append(seq)
            await ws.send(orjson.dumps(packet).decode())
            session.sent_seqs.append(seq)
            session.packet_seqs.append(seq)
        last = seq

        async def all_acked() -> bool:
            return session.acked >= last

        with contextlib.suppress(AssertionError):  # the caller checks what was acknowledged
            await poll(all_acked, 30, "the last ack", interval=0.05)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def read_feed(url: str, messages: list[dict[str, Any]], opened: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=2**22) as ws:
        opened.set()
        async for raw in ws:
            messages.append(orjson.loads(raw))


def frame_jpeg(i: int) -> bytes:
    image = np.full((240, 320, 3), 40, np.uint8)
    cv2.rectangle(image, (140 + 5 * i, 60), (180 + 5 * i, 200), (200, 200, 200), -1)  # someone walking
    cv2.putText(image, f"frame {i}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


async def see_a_person(stack: SensorStack, org: str, camera: str, epoch_ns: int) -> None:
    """What vision does when the camera sees someone: frames in the stream, a person detection."""
    r = stack.redis()
    try:
        for i in range(9):  # 2 fps from 2 s before the person to 2 s after
            t = epoch_ns + int((PERSON_AT_S - 2 + i * 0.5) * NS)
            r.xadd(f"camera:{camera}:frames", {"t": str(t), "jpeg": frame_jpeg(i)}, maxlen=120, approximate=True)
    finally:
        r.close()
    detection = make("detection.created", uuid.UUID(org), "e2e-vision", {
        "camera": camera, "frame": str(uuid.uuid4()), "captured_at": epoch_ns + int(PERSON_AT_S * NS),
        "label": "person", "confidence": 0.87, "box": {"x1": 140, "y1": 60, "x2": 200, "y2": 200}})
    async with AsyncPublisher(stack.amqp_url) as publisher:
        await publisher.publish(detection)


async def poll(check: Callable[[], Awaitable[Any]], within: float, what: str, interval: float = 0.3) -> Any:
    """The first truthy value of ``await check()``, polled for ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {within:g} s waiting for {what}"
        await asyncio.sleep(interval)


async def test_magnetic_and_audio_anomalies_with_a_person_raise_one_event_with_evidence(
        amqp_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    with sensor_stack(tmp_path, amqp_url, services=SERVICES, env=ENV) as stack:
        ready_s = time.monotonic() - started
        access = stack.login()
        async with httpx.AsyncClient(base_url=stack.base, headers={"Authorization": f"Bearer {access}"},
                                     timeout=30) as api:
            me = (await api.get("/api/v1/auth/me")).json()
            org = str(me["org"]["id"] if isinstance(me.get("org"), dict) else me["org"])
            r = await api.post("/api/v1/devices/", json={"name": "e2e-phone", "kind": "phone", "site": "e2e",
                                                         "reporting_interval": 1.0})
            assert r.status_code == 201, r.text
            device, token = r.json()["id"], r.json()["token"]
            r = await api.post("/api/v1/cameras/", json={"name": "e2e-camera", "rtsp_url": "rtsp://10.9.8.7/live",
                                                         "fps": 1, "site": "e2e"})
            assert r.status_code == 201, r.text
            camera = r.json()["id"]
            other = add_phones(stack.database_url, 1)[0]  # a device of another organization

            feed: list[dict[str, Any]] = []
            opened = asyncio.Event()
            feed_task = asyncio.create_task(read_feed(f"{stack.live_ws}?token={access}", feed, opened))
            await asyncio.wait_for(opened.wait(), 30)

            session, anomaly_sent = PhoneSession(), asyncio.Event()
            epoch = time.time_ns()
            phone = asyncio.create_task(run_phone(stack.sensors_ws, token, epoch, other.device, session,
                                                  anomaly_sent))
            await asyncio.wait_for(anomaly_sent.wait(), 60)
            await see_a_person(stack, org, camera, epoch)
            await asyncio.wait_for(phone, 60)
            assert session.hello["device_id"] == device
            assert session.acked == session.sent_seqs[-1], "the gateway did not acknowledge every item"
            assert [(e["seq"], e["field"]) for e in session.errors] == [(session.sent_seqs[0], "device_id")]

            async def closed_events() -> list[dict[str, Any]]:
                r = await api.get("/api/v1/events/")
                assert r.status_code == 200, r.text
                results = r.json()["results"]
                return results if any(e["ended_at"] for e in results) else []

            events = await poll(closed_events, 60, "the correlated event (closed) in the API")
            assert len(events) == 1, events
            event = events[0]
            assert event["score"] >= 0.6 and event["site"] == "e2e", event
            kinds = {s["kind"] for s in event["sources"]}
            assert {"magnetic", "person"} <= kinds and kinds & {"audio", "audio_infrasound"}, event["sources"]

            async def evidence() -> dict[str, Any] | None:
                r = await api.get(f"/api/v1/events/{event['id']}/evidence/")
                assert r.status_code == 200, r.text
                return r.json() if r.json()["ready"] else None

            bundle = await poll(evidence, 90, "the evidence bundle")
            assert len((await api.get("/api/v1/events/")).json()["results"]) == 1  # still one event

        await asyncio.sleep(0.5)
        feed_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feed_task
        changes = [m for m in feed if m.get("type") == "new_event"]
        assert {m["event"]["id"] for m in changes} == {event["id"]}, changes
        created = [m for m in changes if m["change"] == "created"]
        assert len(created) == 1 and created[0]["event"]["score"] >= 0.6, changes

        files = {f["name"]: f for f in bundle["files"]}
        assert {"video.mp4", "audio.wav", "sensors.csv", "metadata.json", "manifest.json"} <= set(files), files
        async with httpx.AsyncClient(timeout=30) as anonymous:  # the signed URL is the credential
            blobs = {}
            for name, entry in files.items():
                r = await anonymous.get(entry["url"])
                assert r.status_code == 200, (name, r.status_code, r.text[:300])
                blobs[name] = r.content
        manifest = json.loads(blobs["manifest.json"])
        listed = {f["name"]: f for f in manifest["files"]}
        assert set(listed) == set(files) - {"manifest.json"}
        for name, entry in listed.items():
            assert hashlib.sha256(blobs[name]).hexdigest() == entry["sha256"] == files[name]["sha256"], name
            assert len(blobs[name]) == entry["size"], name

        video = tmp_path / "video.mp4"
        video.write_bytes(blobs["video.mp4"])
        command = ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(video)]
        probe = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60,
                                        check=False)
        assert probe.returncode == 0, probe.stderr
        stream = json.loads(probe.stdout)["streams"][0]
        assert stream["codec_name"] == "h264" and int(stream["nb_read_frames"]) == 9, stream

        samples, rate = soundfile.read(io.BytesIO(blobs["audio.wav"]), dtype="float64")
        assert rate == AUDIO_RATE and samples.ndim == 1
        assert len(samples) >= 2 * CHUNK_S * AUDIO_RATE
        spectrum = np.abs(np.fft.rfft(samples)) ** 2
        freqs = np.fft.rfftfreq(len(samples), 1 / AUDIO_RATE)
        assert abs(freqs[int(np.argmax(spectrum[1:])) + 1] - 10.0) < 1.0  # the infrasound is in it

        meta = json.loads(blobs["metadata.json"])
        assert meta["event_id"] == event["id"] and meta["magnetic_anomaly"] and meta["audio_anomaly"]
        assert meta["humanoid_detected"] and meta["correlation_score"] >= 0.6
        window = (_parse_time(meta["window"]["start"]), _parse_time(meta["window"]["end"]))
        rows = list(csv.DictReader(io.StringIO(blobs["sensors.csv"].decode())))
        stored = stack.sql("SELECT seq FROM telemetry WHERE device_id = %s AND time >= %s AND time <= %s "
                           "ORDER BY time, seq", uuid.UUID(device), time_ns_to_datetime(window[0]),
                           time_ns_to_datetime(window[1]))
        assert [int(row["seq"]) for row in rows] == [int(s) for (s,) in stored]
        assert {row["device_id"] for row in rows} == {device}
        assert set(session.spike_seqs) <= {int(row["seq"]) for row in rows}
        assert len(rows) >= (window[1] - window[0]) / NS * RATE_HZ * 0.9, len(rows)
        spike = [float(row["mag_magnitude"]) for row in rows if int(row["seq"]) in session.spike_seqs]
        calm = [float(row["mag_magnitude"]) for row in rows if int(row["seq"]) not in session.spike_seqs]
        assert min(spike) > max(calm) + SPIKE_UT / 2 and all(math.isfinite(v) for v in calm)

        # The packet naming another organization's device was refused and left nothing behind.
        assert stack.sql("SELECT count(*) FROM telemetry WHERE device_id = %s", other.device) == [(0,)]
        assert stack.sql("SELECT count(*) FROM telemetry WHERE device_id = %s AND seq = %s",
                         uuid.UUID(device), session.sent_seqs[0]) == [(0,)]
        assert stack.sql("SELECT count(*) FROM telemetry WHERE device_id = %s", uuid.UUID(device)) \
            == [(len(session.packet_seqs),)]
        stack.assert_alive()
    print(f"sensor platform e2e: ready in {ready_s:.1f} s, total {time.monotonic() - started:.1f} s")


# --- detection quality on phonesim's ground truth -------------------------------------------------

QUALITY_PHONES = 8
QUALITY_SECONDS = 240.0
QUALITY_CONFIG = SignalConfig(rate=10, audio_rate=48_000, chunk_seconds=0.5, mean_gap_s=16.0, min_gap_s=12.0)
# phonesim's ground-truth kinds -> fusion's anomaly kinds
FUSION_KIND = {"magnetic": "magnetic", "imu": "imu", "humanoid": "humanoid", "infrasound": "audio_infrasound",
               "ultrasound": "audio_ultrasound", "voice": "audio_voice"}
AUDIO_KINDS = {"audio_infrasound", "audio_ultrasound", "audio_voice"}


def tolerance_ns(kind: str, config: SignalConfig) -> int:
    """How far outside [start, end] a detection of ``kind`` may fall and still be that anomaly's:
    one sample period. An audio detection carries its chunk's first-sample time and looks at the
    last second of audio (the chunk and the one before it), so its sample period is a chunk."""
    return int((config.chunk_seconds if kind in AUDIO_KINDS else 1 / config.rate) * NS)


def test_fusion_finds_phonesims_injected_anomalies_with_the_default_settings(tmp_path: Path) -> None:
    """phonesim's generator (fixed seed) through fusion's detectors, in process and in device order
    (one-second packet batches and audio chunks, as the gateway forwards them): per anomaly kind,
    recall >= 0.95 and precision >= 0.9 against the ground-truth log. An anomaly is found when a
    detection of its kind on its device falls within [start, end] ± one sample period; a detection
    is true when it falls so for some injected anomaly of its kind and device."""
    settings = FusionSettings()  # the defaults (and whatever VIGIA_FUSION_* says)
    # Only the pure analysis steps are used: no telemetry, audio stream or publisher is touched.
    fusion = FusionService(DeviceStates(settings), None, None, None)  # type: ignore[arg-type,unused-ignore]
    org, epoch, config = uuid.uuid4(), 1_800_000_000 * NS, QUALITY_CONFIG
    truth_log = TruthLog(tmp_path / "truth.jsonl")
    found: list[tuple[str, str, int]] = []  # (device, fusion kind, observed_at)
    for index in range(QUALITY_PHONES):
        device = uuid.uuid4()
        signals = PhoneSignals(config, seed=20261122, index=index, epoch_ns=epoch)
        seq, chunks = 0, 0
        batch: list[SensorPacket] = []

        def flush(batch: list[SensorPacket], device: uuid.UUID = device) -> None:
            envelope = make("sensor.batch", org, "phonesim", SensorBatch(device=device, packets=batch))
            found.extend((str(device), a.data.kind, a.data.observed_at) for a in fusion.analyse_batch(envelope))

        for i in range(int(QUALITY_SECONDS * config.rate)):
            t = signals.packet_time(i)
            while signals.chunk_time(chunks + 1) <= t:  # a chunk goes out once recorded, after the packets before it
                if batch:
                    flush(batch)
                    batch = []
                pcm = signals.chunk(chunks)
                envelope = make("sensor.audio", org, "phonesim", AudioChunk(
                    device=device, seq=seq, timestamp=signals.chunk_time(chunks), sample_rate=config.audio_rate,
                    samples=len(pcm) // 2))
                state = fusion.states.get(device)
                found.extend((str(device), a.data.kind, a.data.observed_at)
                             for a in fusion.analyse_audio(envelope, state, pcm))
                seq, chunks = seq + 1, chunks + 1
            batch.append(SensorPacket.model_validate({**signals.packet(i), "seq": seq}))
            seq += 1
            if len(batch) == config.rate:
                flush(batch)
                batch = []
            truth_log.write([a.record(str(device)) for a in signals.finished(min(t, signals.chunk_time(chunks)))])
        if batch:
            flush(batch)
        last = signals.packet_time(int(QUALITY_SECONDS * config.rate) - 1)
        pending = signals.finished(last) + signals.started(last)  # as phonesim's Phone.close_truth does
        truth_log.write([{**a.record(str(device)), "complete": False} for a in pending])
    truth_log.close()

    truth = [r for r in read_truth(tmp_path / "truth.jsonl") if r["kind"] in FUSION_KIND]

    def matches(anomaly: dict[str, Any], detection: tuple[str, str, int]) -> bool:
        kind = FUSION_KIND[anomaly["kind"]]
        slack = tolerance_ns(kind, config)
        return (detection[0] == anomaly["device"] and detection[1] == kind
                and anomaly["start"] - slack <= detection[2] <= anomaly["end"] + slack)

    report: dict[str, dict[str, Any]] = {}
    for kind in FUSION_KIND.values():
        injected = [a for a in truth if FUSION_KIND[a["kind"]] == kind and a.get("complete", True)]
        detections = [d for d in found if d[1] == kind]
        hits = [a for a in injected if any(matches(a, d) for d in detections)]
        true = [d for d in detections if any(matches(a, d) for a in truth if FUSION_KIND[a["kind"]] == kind)]
        report[kind] = {"injected": len(injected), "found": len(hits), "detections": len(detections),
                        "true": len(true), "recall": round(len(hits) / len(injected), 3) if injected else None,
                        "precision": round(len(true) / len(detections), 3) if detections else None}
    print("detection quality:", json.dumps(report))
    for kind, figures in report.items():
        assert figures["injected"] >= 8, f"too few {kind} anomalies to measure: {report}"
        assert figures["recall"] >= 0.95, f"{kind}: {report}"
        assert figures["precision"] >= 0.9, f"{kind}: {report}"
