"""Scoring events with the organization's active false-alarm classifier, through the real broker,
database, Redis and file store: each event change carries the score of the active version and,
at or above the organization's false_alarm_threshold, likely_false_alarm; the bundle, once built,
scores the event again (an event.updated); an activation drops the cached model; an organization
without an active version or a threshold gets unscored or unmarked events. The classifiers here
are small TorchScript modules of the trainer's signature (the trainer's own are tested there)."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import torch
from redis.asyncio import Redis
from sqlalchemy import Engine, insert, update

from services.correlator.tests.conftest import Site, Tap, anomaly, events_of
from services.correlator.tests.test_correlation_broker import correlator_settings, ended, publish
from vigia.common.broker import AsyncPublisher
from vigia.common.db import classifier_models, organizations, telemetry
from vigia.common.messages import Envelope, EventChanged, ModelActivated, make, time_ns_to_datetime
from vigia.common.settings import CommonSettings
from vigia.common.storage import ensure_default_buckets, open_store
from vigia.correlator import metrics
from vigia.correlator.app import run
from vigia.correlator.config import CorrelatorSettings
from vigia.correlator.evidence import EvidenceBuilder, audio_key, frames_key

MS = 1_000_000
NS = 1_000_000_000


class Constant(torch.nn.Module):
    """A classifier of the trainer's signature: the same logit for every event, its inputs' ranks checked."""

    def __init__(self, logit: float) -> None:
        super().__init__()
        self.logit = logit

    def forward(self, frames: torch.Tensor, audio: torch.Tensor, sensors: torch.Tensor) -> torch.Tensor:
        assert frames.dim() == 5 and audio.dim() == 3 and sensors.dim() == 2
        return torch.full((frames.shape[0],), self.logit) + 0.0 * sensors.sum(dim=1)


def add_version(engine: Engine, objects: Path, org: uuid.UUID, version: int, logit: float,
                active: bool) -> uuid.UUID:
    store = open_store(f"file://{objects}", CommonSettings())
    ensure_default_buckets(store)
    model_id, key = uuid.uuid4(), f"false-alarms/{org}/v{version}/model.pt"
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(Constant(logit)), buffer)
    store.put("models", key, buffer.getvalue())
    with engine.begin() as conn:
        if active:
            conn.execute(update(classifier_models).where(classifier_models.c.org_id == org).values(is_active=False))
        conn.execute(insert(classifier_models).values(
            id=model_id, org_id=org, version=version, created_at=datetime.now(UTC), artifact_key=key,
            dataset_hash="0" * 64, samples=10, metrics={}, parameters={}, is_active=active))
    return model_id


def set_threshold(engine: Engine, org: uuid.UUID, threshold: float | None) -> None:
    with engine.begin() as conn:
        conn.execute(update(organizations).where(organizations.c.id == org)
                     .values(settings={"correlation": {"false_alarm_threshold": threshold}}))


@pytest.fixture
async def correlator(database_url: str, amqp_url: str, redis_prefix: str, tmp_path: Path,
                     publisher: AsyncPublisher) -> AsyncIterator[CorrelatorSettings]:
    settings = correlator_settings(database_url, amqp_url, redis_prefix, tmp_path / "objects",
                                   false_alarm_model_ttl_s=3600.0)
    stopping = asyncio.Event()
    task = asyncio.create_task(run(settings, stopping))
    yield settings
    stopping.set()
    await asyncio.wait_for(task, 30)


def _scores(source: str, outcome: str) -> float:
    return metrics.FALSE_ALARM_SCORES.labels(source, outcome)._value.get()


def changes(messages: list[Envelope]) -> list[EventChanged]:
    return [m.data for m in messages if isinstance(m.data, EventChanged)]


async def test_events_are_scored_on_each_change_and_again_from_their_evidence(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap, make_site: Callable[..., Site],
        engine: Engine, tmp_path: Path) -> None:
    site = make_site()
    model = add_version(engine, tmp_path / "objects", site.org, 1, logit=2.0, active=True)  # score 0.881
    set_threshold(engine, site.org, 0.8)
    marked_before = {source: _scores(source, "marked") for source in ("live", "bundle")}
    now = time.time_ns()
    await publish(publisher, anomaly(site, "magnetic", now), anomaly(site, "audio_voice", now + 100 * MS))
    messages = await tap.collect(lambda seen: ended(seen) and len(changes(seen)) >= 3, within=30)
    scored = changes(messages)
    # Counted for the dashboard: every change marked from the live sources, then once from the bundle.
    assert _scores("live", "marked") - marked_before["live"] == len(scored) - 1
    assert _scores("bundle", "marked") - marked_before["bundle"] == 1
    assert [m.type for m in messages][:1] == ["event.created"]
    for change in scored:
        assert change.false_alarm_score == pytest.approx(0.8808, abs=1e-3)
        assert change.false_alarm_model == model and change.likely_false_alarm is True
    # The last: the same event again, scored from its bundle once built (nothing else changed).
    closed = next(c for c in scored if c.ended_at is not None)
    again = scored[-1]
    assert again is not closed and again.event == closed.event and again.ended_at == closed.ended_at
    assert again.sources == closed.sources and again.score == closed.score


async def test_below_the_threshold_nothing_is_marked(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap, make_site: Callable[..., Site],
        engine: Engine, tmp_path: Path) -> None:
    marked_off = make_site()
    add_version(engine, tmp_path / "objects", marked_off.org, 1, logit=-1.0, active=True)  # score 0.269
    set_threshold(engine, marked_off.org, 0.5)
    now = time.time_ns()
    await publish(publisher, anomaly(marked_off, "magnetic", now), anomaly(marked_off, "audio_voice", now + 50 * MS))
    first = changes(await tap.collect(lambda seen: bool(events_of(seen, "event.created")), within=30))[0]
    assert first.false_alarm_score == pytest.approx(0.2689, abs=1e-3) and first.likely_false_alarm is False


async def test_an_activation_switches_the_version_at_once(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap, make_site: Callable[..., Site],
        engine: Engine, tmp_path: Path) -> None:
    site = make_site()
    add_version(engine, tmp_path / "objects", site.org, 1, logit=-3.0, active=True)
    now = time.time_ns()
    await publish(publisher, anomaly(site, "magnetic", now), anomaly(site, "audio_voice", now + 50 * MS))
    first = changes(await tap.collect(lambda seen: bool(events_of(seen, "event.created")), within=30))[0]
    assert first.false_alarm_score == pytest.approx(0.0474, abs=1e-3)
    assert first.likely_false_alarm is False  # no threshold: the organization's policy is off

    # Cached for an hour (false_alarm_model_ttl_s) unless model.activated says otherwise.
    second = add_version(engine, tmp_path / "objects", site.org, 2, logit=3.0, active=True)
    await publisher.publish(make("model.activated", site.org, "control", ModelActivated(model=second, version=2)))
    await asyncio.sleep(1.0)
    later = make_site(org_id=site.org)
    now = time.time_ns()
    await publish(publisher, anomaly(later, "magnetic", now), anomaly(later, "audio_voice", now + 50 * MS))
    messages = await tap.collect(lambda seen: any(c.site == later.name for c in changes(seen)), within=30)
    fresh = next(c for c in changes(messages) if c.site == later.name)
    assert fresh.false_alarm_score == pytest.approx(0.9526, abs=1e-3) and fresh.false_alarm_model == second


async def test_without_an_active_version_events_are_unscored(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap, make_site: Callable[..., Site],
        engine: Engine, tmp_path: Path) -> None:
    site = make_site()
    add_version(engine, tmp_path / "objects", site.org, 1, logit=3.0, active=False)
    set_threshold(engine, site.org, 0.1)
    now = time.time_ns()
    await publish(publisher, anomaly(site, "magnetic", now), anomaly(site, "audio_voice", now + 50 * MS))
    messages = await tap.collect(ended, within=30)
    assert all(c.false_alarm_score is None and not c.likely_false_alarm for c in changes(messages))


async def test_the_live_sample_reads_a_few_spread_frames_the_audio_and_the_telemetry(
        redis: Redis, engine: Engine, make_site: Callable[..., Site], tmp_path: Path) -> None:
    site = make_site()
    t0 = (time.time_ns() // NS - 600) * NS  # ten minutes ago, stream ids at their capture time
    frames, audio_stream = frames_key(str(site.camera)), audio_key(str(site.phone))
    try:
        for i in range(100):  # 10 fps over 10 s
            t = t0 + i * 100 * MS
            await redis.xadd(frames, {"t": t, "jpeg": jpeg_of(i)}, id=f"{t // MS}-0")
        chunk = (np.ones(4000) * 1000).astype("<i2").tobytes()  # half a second at 8 kHz
        for i in range(20):
            t = t0 + i * 500 * MS
            await redis.xadd(audio_stream, {"t": t, "rate": 8000, "pcm": chunk}, id=f"{t // MS}-0")
        with engine.begin() as conn:
            conn.execute(insert(telemetry), [{"org_id": site.org, "device_id": site.phone, "seq": k,
                                              "time": time_ns_to_datetime(t0 + k * 100 * MS), "mag_magnitude": 50.0,
                                              "humanoid": False} for k in range(100)])
        store = open_store(f"file://{tmp_path / 'objects'}", CommonSettings())
        builder = EvidenceBuilder(store, redis, engine, margin_s=0.0)
        job = {"org": str(site.org), "event": str(uuid.uuid4()), "started_at": t0, "ended_at": t0 + 10 * NS,
               "devices": [str(site.phone)], "cameras": [str(site.camera)], "sources": []}
        jpegs, audio, sensors_csv = await builder.sources(job)
        assert jpegs == [jpeg_of(i) for i in (0, 25, 50, 75)]  # one per quarter, not the hundred
        assert audio is not None and audio[0] == 8000 and len(audio[1]) == 20 * 4000
        assert abs(float(audio[1].max()) - 1000 / 32768) < 1e-6
        assert len(sensors_csv.decode().strip().splitlines()) == 1 + 100
    finally:
        await redis.delete(frames, audio_stream)


def jpeg_of(i: int) -> bytes:
    return b"\xff\xd8" + bytes([i]) * 16 + b"\xff\xd9"
