"""The correlator through the real broker, database, Redis and file store: signals published as
fusion and vision would, events taken from a queue bound like live's."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, update

from services.correlator.tests.conftest import REDIS_URL, Site, Tap, anomaly, events_of, person
from vigia.common.broker import AsyncPublisher
from vigia.common.db import organizations
from vigia.common.messages import Envelope, EventChanged
from vigia.common.storage import FileStore
from vigia.correlator.app import run
from vigia.correlator.config import CorrelatorSettings

MS = 1_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def correlator_settings(database_url: str, amqp_url: str, redis_prefix: str, objects: Path,
                        **overrides: Any) -> CorrelatorSettings:
    values: dict[str, Any] = {
        "database_url": database_url, "amqp_url": amqp_url, "redis_url": REDIS_URL,
        "correlator_redis_prefix": redis_prefix, "object_store": f"file://{objects}",
        "metrics_port": free_port(), "incident_quiet_s": 1.0, "correlator_tick_s": 0.1,
        "evidence_margin_s": 0.5, "evidence_delay_s": 0.0, "org_config_ttl_s": 0.0, **overrides}
    return CorrelatorSettings(**values)


@pytest.fixture
async def correlator(database_url: str, amqp_url: str, redis_prefix: str, tmp_path: Path,
                     publisher: AsyncPublisher) -> AsyncIterator[CorrelatorSettings]:
    """A correlator running in this event loop (the topology already declared by ``publisher``)."""
    settings = correlator_settings(database_url, amqp_url, redis_prefix, tmp_path / "objects")
    stopping = asyncio.Event()
    task = asyncio.create_task(run(settings, stopping))
    yield settings
    stopping.set()
    await asyncio.wait_for(task, 30)


def ended(envelopes: list[Envelope]) -> bool:
    return any(isinstance(e.data, EventChanged) and e.data.ended_at is not None for e in envelopes)


async def publish(publisher: AsyncPublisher, *envelopes: Envelope) -> None:
    for envelope in envelopes:
        await publisher.publish(envelope)


async def test_magnetic_audio_and_person_on_one_site_raise_exactly_one_event(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap, make_site: Callable[..., Site],
        tmp_path: Path) -> None:
    site = make_site()
    now = time.time_ns()
    magnetic, audio, seen = (anomaly(site, "magnetic", now, value=812.5),
                             anomaly(site, "audio_infrasound", now + 250 * MS), person(site, now + 500 * MS))
    await publish(publisher, magnetic, audio, seen)
    messages = await tap.collect(ended)
    created = events_of(messages, "event.created")
    assert len(created) == 1
    event = created[0].data
    assert isinstance(event, EventChanged)
    assert created[0].org == site.org and event.site == site.name and event.score >= 0.6
    final = messages[-1].data
    assert isinstance(final, EventChanged) and final.event == event.event
    assert final.score == pytest.approx(1.0)
    assert {(s.kind, s.ref) for s in final.sources} == {
        ("magnetic", str(magnetic.id)), ("audio", str(audio.id)), ("person", str(seen.id))}
    assert {e.data.event for e in messages if isinstance(e.data, EventChanged)} == {event.event}
    # The bundle follows off the hot path once the incident's window has passed.
    store = FileStore(tmp_path / "objects", correlator.object_url_secret.get_secret_value())
    manifest_key = f"{site.org}/{event.event}/manifest.json"
    for _ in range(200):
        if any(info.key == manifest_key for info in store.list("evidence", f"{site.org}/")):
            break
        await asyncio.sleep(0.1)
    manifest = orjson.loads(store.get("evidence", manifest_key))
    assert {f["name"] for f in manifest["files"]} >= {"sensors.csv", "metadata.json"}
    metadata = orjson.loads(store.get("evidence", f"{site.org}/{event.event}/metadata.json"))
    assert metadata["magnetic_anomaly"] and metadata["audio_anomaly"] and metadata["humanoid_detected"]
    assert metadata["magnetic_magnitude"] == 812.5 and metadata["event_id"] == str(event.event)


async def test_signals_of_different_sites_raise_nothing(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap,
        make_site: Callable[..., Site]) -> None:
    a, b, c, sentinel = make_site(), make_site(), make_site(), make_site()
    now = time.time_ns()
    await publish(publisher, anomaly(a, "magnetic", now), anomaly(b, "audio_voice", now + 100 * MS),
                  person(c, now + 200 * MS),
                  # same site, but more than the window apart
                  anomaly(a, "audio_ultrasound", now + 2500 * MS),
                  # a car is no person
                  person(b, now + 150 * MS, label="car"))
    await publish(publisher, anomaly(sentinel, "magnetic", now), anomaly(sentinel, "audio_voice", now + 10 * MS))
    messages = await tap.collect(lambda seen: bool(events_of(seen, "event.created")))
    messages = await tap.settle(1.0)
    assert {e.data.site for e in messages if isinstance(e.data, EventChanged)} == {sentinel.name}


async def test_a_burst_is_one_event_updated_while_it_lasts(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap,
        make_site: Callable[..., Site]) -> None:
    site = make_site()
    start = time.time_ns()
    await publish(publisher, anomaly(site, "magnetic", start), anomaly(site, "audio_voice", start + 100 * MS))
    for _ in range(6):  # the burst goes on for ~1.5 s, each signal inside the quiet gap
        await asyncio.sleep(0.25)
        now = time.time_ns()
        await publish(publisher, anomaly(site, "magnetic", now), person(site, now + 10 * MS))
    messages = await tap.collect(ended)
    assert len(events_of(messages, "event.created")) == 1
    updates = events_of(messages, "event.updated")
    assert len(updates) >= 2
    assert len({e.data.event for e in messages if isinstance(e.data, EventChanged)}) == 1
    final = updates[-1].data
    assert isinstance(final, EventChanged) and final.ended_at is not None
    assert final.ended_at > final.started_at and len(final.sources) == 2 + 2 * 6


async def test_an_orgs_settings_override_the_threshold(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap, make_site: Callable[..., Site],
        engine: Engine, org: uuid.UUID) -> None:
    with engine.begin() as conn:  # this org demands all three kinds
        conn.execute(update(organizations).where(organizations.c.id == org)
                     .values(settings={"correlation": {"threshold": 0.95}}))
    site = make_site()
    now = time.time_ns()
    await publish(publisher, anomaly(site, "magnetic", now), anomaly(site, "audio_voice", now + 100 * MS))
    await tap.settle(1.0)
    assert tap.seen == []
    await publish(publisher, person(site, now + 200 * MS))
    messages = await tap.collect(lambda seen: bool(events_of(seen, "event.created")))
    assert len(events_of(messages, "event.created")) == 1
