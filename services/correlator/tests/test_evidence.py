"""Evidence bundles from real Redis streams, PostgreSQL telemetry and the file store: the files
open with the tools an investigator would use (ffprobe, soundfile, a CSV reader), the manifest's
checksums match, and building again changes nothing."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import orjson
import pytest
import soundfile
from PIL import Image, ImageDraw
from redis.asyncio import Redis
from sqlalchemy import Engine, insert

from services.correlator.tests.conftest import Site
from vigia.common.db import telemetry
from vigia.common.messages import time_ns_to_datetime
from vigia.common.storage import FileStore
from vigia.correlator.evidence import (
    EvidenceBuilder,
    assemble_audio,
    audio_key,
    frames_key,
    jpeg_size,
)

S = 1_000_000_000
MS = 1_000_000
RATE = 16_000


async def ffprobe(*args: str) -> str:
    """ffprobe's output; it fails the test when ffprobe cannot read the file."""
    done = await asyncio.to_thread(subprocess.run, ["ffprobe", "-v", "error", *args], capture_output=True,
                                   check=True, text=True)
    return done.stdout


def jpeg(i: int, size: tuple[int, int] = (161, 120)) -> bytes:
    image = Image.new("RGB", size, (20 * (i % 10), 80, 160))
    ImageDraw.Draw(image).rectangle((i * 4 % 100, 20, i * 4 % 100 + 30, 90), fill=(250, 250, 250))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
async def streams(redis: Redis) -> AsyncIterator[list[str]]:
    keys: list[str] = []
    yield keys
    for key in keys:
        await redis.delete(key)


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "objects", "test-object-url-secret-0123456789")


async def test_bundle_files_open_and_match_their_manifest(
        redis: Redis, engine: Engine, store: FileStore, make_site: Callable[..., Site], streams: list[str]) -> None:
    site = make_site()
    t0 = time.time_ns() - 10 * S
    streams += [frames_key(str(site.camera)), audio_key(str(site.phone))]
    for i in range(40):  # 4 fps for 10 s around the event, plus one frame long before
        await redis.xadd(frames_key(str(site.camera)), {"t": t0 - 4 * S + i * 250 * MS, "jpeg": jpeg(i)})
    await redis.xadd(frames_key(str(site.camera)), {"t": t0 - 60 * S, "jpeg": jpeg(99)})
    tone = (np.sin(np.arange(RATE // 2) * 2 * np.pi * 440 / RATE) * 8000).astype("<i2")
    for i in range(6):  # half-second chunks, one missing (a gap of silence)
        if i != 3:
            await redis.xadd(audio_key(str(site.phone)), {"t": t0 - S + i * 500 * MS, "rate": RATE,
                                                          "pcm": tone.tobytes()})
    with engine.begin() as conn:
        conn.execute(insert(telemetry), [
            {"org_id": site.org, "device_id": site.phone, "time": time_ns_to_datetime(t0 + k * 100 * MS),
             "seq": k, "mag_x": 1.0 * k, "mag_magnitude": 50.0 + k, "humanoid": k == 3, "audio_peak": 0.1}
            for k in range(-30, 40)])
    event = str(uuid.uuid4())
    job = {"org": str(site.org), "event": event, "site": site.name, "started_at": t0, "ended_at": t0 + S,
           "score": 1.0, "severity": "high", "devices": [str(site.phone)], "cameras": [str(site.camera)],
           "sources": [{"id": "m1", "kind": "magnetic", "detail": "magnetic", "time": t0, "severity": "high",
                        "device": str(site.phone), "camera": None, "value": 77.0, "snapshot_key": None}]}
    builder = EvidenceBuilder(store, redis, engine, margin_s=2.0)
    names = await builder.build(job)
    assert names is not None and names[-1] == "manifest.json"
    prefix = f"{site.org}/{event}/"
    assert {"video.mp4", "audio.wav", "sensors.csv", "metadata.json"} <= set(names)

    video = store.root / "evidence" / "objects" / prefix / "video.mp4"
    probe = json.loads(await ffprobe("-show_streams", "-count_frames", "-of", "json", str(video)))["streams"][0]
    assert probe["codec_name"] == "h264" and probe["width"] == 160 and probe["height"] == 120
    assert int(probe["nb_read_frames"]) == 21  # the frames within ±2 s of the event (t0 - 2 s .. t0 + 3 s)

    samples, rate = soundfile.read(io.BytesIO(store.get("evidence", prefix + "audio.wav")), dtype="int16")
    assert rate == RATE and len(samples) == 6 * RATE // 2
    assert np.all(samples[3 * RATE // 2: 4 * RATE // 2] == 0) and np.abs(samples[:RATE // 2]).max() > 7000

    rows = list(csv.DictReader(io.StringIO(store.get("evidence", prefix + "sensors.csv").decode())))
    assert [int(r["seq"]) for r in rows] == list(range(-20, 31))  # t0 - 2 s .. t0 + 1 s + 2 s
    assert rows[0]["device_id"] == str(site.phone) and rows[0]["mag_magnitude"] == "30.0"

    metadata = orjson.loads(store.get("evidence", prefix + "metadata.json"))
    assert metadata["event_id"] == event and metadata["site"] == site.name
    assert metadata["magnetic_anomaly"] is True and metadata["audio_anomaly"] is False
    assert metadata["magnetic_magnitude"] == 77.0 and metadata["telemetry_rows"] == len(rows)

    manifest = orjson.loads(store.get("evidence", prefix + "manifest.json"))
    for entry in manifest["files"]:
        data = store.get("evidence", prefix + entry["name"])
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)

    before = store.stat("evidence", prefix + "manifest.json")
    assert await builder.build(job) is None  # already complete: nothing rewritten
    assert store.stat("evidence", prefix + "manifest.json") == before


async def test_without_frames_the_video_comes_from_the_person_snapshots(
        redis: Redis, engine: Engine, store: FileStore, make_site: Callable[..., Site]) -> None:
    site = make_site()
    t0 = time.time_ns()
    store.ensure_bucket("snapshots")
    sources = []
    for i in range(3):
        key = f"{site.org}/{site.camera}/snap-{i}.jpg"
        store.put("snapshots", key, jpeg(i, (64, 48)), "image/jpeg")
        sources.append({"id": f"p{i}", "kind": "humanoid", "detail": "person", "time": t0 + i * 200 * MS,
                        "severity": "low", "device": None, "camera": str(site.camera), "value": 0.9,
                        "snapshot_key": key})
    event = str(uuid.uuid4())
    job = {"org": str(site.org), "event": event, "site": site.name, "started_at": t0, "ended_at": t0 + S,
           "devices": [str(site.phone)], "cameras": [str(site.camera)], "sources": sources}
    names = await EvidenceBuilder(store, redis, engine, margin_s=1.0).build(job)
    assert names is not None and "video.mp4" in names and "audio.wav" not in names
    video = store.root / "evidence" / "objects" / str(site.org) / event / "video.mp4"
    out = await ffprobe("-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(video))
    assert out.strip() == "3"
    rows = store.get("evidence", f"{site.org}/{event}/sensors.csv").decode().splitlines()
    assert rows == ["time,device_id,seq,mag_x,mag_y,mag_z,mag_magnitude,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,"
                    "roll,pitch,yaw,audio_peak,humanoid,bluetooth_devices"]


def test_jpeg_size_and_audio_assembly() -> None:
    assert jpeg_size(jpeg(1, (33, 17))) == (33, 17)
    assert jpeg_size(b"\x89PNG....") is None
    one = np.ones(100, dtype="<i2").tobytes()
    rate, timeline = assemble_audio([(S // 100, 1000, one), (0, 1000, one), (0, 8000, one)]) or (0, None)
    assert rate == 1000 and timeline is not None and len(timeline) == 110  # 10 ms later = 10 samples
    assert assemble_audio([]) is None

