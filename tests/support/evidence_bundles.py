"""Evidence bundles written as the correlator writes them (``evidence/<org>/<event>/``: video.mp4,
audio.wav, sensors.csv, metadata.json, manifest.json last), from synthetic sources: a real alarm
is a bright square crossing the frame, a loud 440 Hz tone and a magnetic spike; a false alarm is a
dim still frame, faint noise and flat readings. For the trainer's and the correlator's tests."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import tempfile
import uuid
import wave
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson

from vigia.common.messages import format_time_ns
from vigia.common.privacy import evidence_prefix
from vigia.common.storage import ObjectStore

COLUMNS = ("mag_x", "mag_y", "mag_z", "mag_magnitude", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z",
           "roll", "pitch", "yaw", "audio_peak", "humanoid", "bluetooth_devices")
RATE = 8000


def video(alarm: bool, rng: np.random.Generator, frames: int = 12, size: int = 64) -> bytes:
    """An H.264 MP4 of ``frames`` RGB frames (FFmpeg, as the correlator encodes)."""
    images = np.full((frames, size, size, 3), 30 + rng.integers(0, 20), dtype=np.uint8)
    images += rng.integers(0, 8, images.shape, dtype=np.uint8)
    if alarm:
        for i in range(frames):
            x = int(i * (size - 16) / max(1, frames - 1))
            images[i, 20:36, x:x + 16] = (230, 220, 200)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "video.mp4")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "rawvideo",
                        "-pix_fmt", "rgb24", "-s", f"{size}x{size}", "-framerate", "4", "-i", "pipe:0",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", out],
                       input=images.tobytes(), check=True, capture_output=True, timeout=60)
        with open(out, "rb") as handle:
            return handle.read()


def audio(alarm: bool, rng: np.random.Generator, seconds: float = 3.0) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    signal = rng.normal(0, 0.004, len(t))
    if alarm:
        signal += 0.5 * np.sin(2 * np.pi * 440 * t) * (t > seconds / 3)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def sensors(alarm: bool, rng: np.random.Generator, start: datetime, device: uuid.UUID, rows: int = 40) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("time", "device_id", "seq", *COLUMNS))
    for i in range(rows):
        magnitude = 48 + rng.normal(0, 0.3) + (40.0 if alarm and rows // 3 <= i < rows // 2 else 0.0)
        values = [10.0, -20.0, 40.0, magnitude, 0.0, 0.0, 9.8, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0,
                  0.6 if alarm else 0.01 + rng.uniform(0, 0.01), alarm and i > rows // 3, 3]
        writer.writerow(((start + timedelta(milliseconds=100 * i)).isoformat(), device, i, *values))
    return buffer.getvalue().encode()


def write_bundle(store: ObjectStore, org: uuid.UUID, event: uuid.UUID, alarm: bool, seed: int = 0,
                 started_at: datetime | None = None) -> dict[str, bytes]:
    """Write the bundle of ``event`` to the ``evidence`` bucket; returns its files by name."""
    rng = np.random.default_rng(seed)
    start = started_at or datetime.now(UTC)
    start_ns = int(start.timestamp() * 1e9)
    device = uuid.uuid5(org, "phone")
    sources = [{"kind": "magnetic", "device": str(device), "value": 88.0, "time": start_ns},
               {"kind": "audio", "device": str(device), "value": 0.6, "time": start_ns}]
    files = {"video.mp4": video(alarm, rng), "audio.wav": audio(alarm, rng),
             "sensors.csv": sensors(alarm, rng, start, device)}
    files["metadata.json"] = orjson.dumps({
        "event_id": str(event), "org_id": str(org), "timestamp": format_time_ns(start_ns),
        "ended_at": format_time_ns(start_ns + 4_000_000_000), "correlation_score": 0.8, "sources": sources})
    manifest = {"event": str(event), "org": str(org), "files": [
        {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()} for name, data in files.items()]}
    prefix = evidence_prefix(str(org), str(event))
    for name, data in files.items():
        store.put("evidence", prefix + name, data)
    store.put("evidence", prefix + "manifest.json", orjson.dumps(manifest))
    return files
