"""plate.read becomes a passage: one row per visit whatever the number of messages and
redeliveries, the newest message's view of it, marked with the watch-lists its plate matches."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vigia.common.broker import AsyncPublisher, BrokerSettings, Consumer, declare_topology
from vigia.common.broker.topology import RECORDER_EVENTS
from vigia.common.messages import Envelope, PlateRead, make, time_ns_to_datetime
from vigia.control.cameras.models import Camera
from vigia.control.observations.models import Passage
from vigia.control.observations.recorder import Recorder, passage_id
from vigia.control.watchlists.models import PlateWatchlist, PlateWatchlistEntry

SECOND = 1_000_000_000


@pytest.fixture
def recorder(engine):
    return Recorder(engine)


def plate_read(org, camera, *, visit="cam-1", first_seen, at_ns, **fields) -> Envelope:
    data = {"camera": camera, "visit": visit, "plate_text": "ABC1D23", "confidence": 0.91, "votes": 3,
            "agreeing": 2, "first_seen": first_seen, "last_seen": first_seen + 2 * SECOND, "label": "car",
            "snapshot_key": "o/c/frame.jpg", "crop_key": "o/c/frame-0.jpg", **fields}
    return make("plate.read", org.id, "vision-test", PlateRead(**data), time_ns=at_ns)


def test_a_plate_read_is_stored_as_a_passage_with_its_cameras_site(recorder, org):
    camera = Camera.objects.create(org=org, name="gate", rtsp_url_encrypted="x", site="north-gate")
    t0 = time.time_ns()
    envelope = plate_read(org, camera.id, first_seen=t0, at_ns=t0 + 3 * SECOND, plate_text="ABC-1234",
                          runner_ups=[{"plate_text": "ABC1284", "readings": 1, "confidence": 0.4}])
    assert recorder.handle(envelope) is True
    row = Passage.objects.get()
    assert row.pk == passage_id(camera.id, "cam-1", t0)
    assert (row.org_id, row.camera_id, row.site, row.label) == (org.id, camera.id, "north-gate", "car")
    assert (row.plate_text, row.plate_folded, row.votes, row.agreeing) == ("ABC1234", "A8C1234", 3, 2)
    assert (row.first_seen, row.last_seen) == (time_ns_to_datetime(t0), time_ns_to_datetime(t0 + 2 * SECOND))
    assert row.runner_ups == [{"plate_text": "ABC1284", "readings": 1, "confidence": 0.4}]
    assert (row.crop_key, row.snapshot_key, row.final, row.watchlist_ids) == (
        "o/c/frame-0.jpg", "o/c/frame.jpg", False, [])


def test_redelivered_and_late_plate_reads_keep_one_passage_with_the_newest_view(recorder, org):
    camera, t0 = uuid.uuid4(), time.time_ns()
    decided = plate_read(org, camera, first_seen=t0, at_ns=t0 + 3 * SECOND, plate_text="ABC1O23")
    changed = plate_read(org, camera, first_seen=t0, at_ns=t0 + 5 * SECOND, plate_text="ABC1D23", votes=4,
                         last_seen=t0 + 4 * SECOND, crop_key="o/c/later-0.jpg", snapshot_key="o/c/later.jpg")
    ended = plate_read(org, camera, first_seen=t0, at_ns=t0 + 9 * SECOND, votes=5, final=True,
                       last_seen=t0 + 8 * SECOND, crop_key=None, snapshot_key=None, label=None)
    assert recorder.handle(decided) is True
    assert recorder.handle(Envelope.from_json(decided.to_json())) is False  # redelivery
    assert recorder.handle(ended) is True
    assert recorder.handle(changed) is False  # late: older than what is stored
    assert recorder.handle(decided) is False
    row = Passage.objects.get()
    assert (row.plate_text, row.votes, row.final, row.label) == ("ABC1D23", 5, True, "car")
    assert row.last_seen == time_ns_to_datetime(t0 + 8 * SECOND)
    # the visit's end carried no images: the stored ones stay
    assert (row.crop_key, row.snapshot_key) == ("o/c/frame-0.jpg", "o/c/frame.jpg")
    # another visit of the same camera (or the tracker's id reused after a restart) is another passage
    assert recorder.handle(plate_read(org, camera, first_seen=t0 + 60 * SECOND, at_ns=t0 + 62 * SECOND)) is True
    assert Passage.objects.count() == 2


def test_a_passage_is_marked_with_the_watch_lists_its_plate_matches(recorder, org, other_org):
    stolen = PlateWatchlist.objects.create(org=org, name="stolen", kind="deny")
    residents = PlateWatchlist.objects.create(org=org, name="residents", kind="allow")
    expired = PlateWatchlist.objects.create(org=org, name="expired", kind="deny")
    rival = PlateWatchlist.objects.create(org=other_org, name="rival", kind="deny")
    PlateWatchlistEntry.objects.create(org=org, watchlist=stolen, plate="ABC1O23", label="look-alike entry")
    PlateWatchlistEntry.objects.create(org=org, watchlist=stolen, plate="ABC1D23", label="exact entry")
    PlateWatchlistEntry.objects.create(org=org, watchlist=residents, plate="A8C1D23", label="flat 12")
    PlateWatchlistEntry.objects.create(org=org, watchlist=expired, plate="ABC1D23",
                                       expires_at=datetime.now(UTC) - timedelta(days=1))
    PlateWatchlistEntry.objects.create(org=other_org, watchlist=rival, plate="ABC1D23")
    PlateWatchlistEntry.objects.create(org=org, watchlist=residents, plate="XYZ9K88")
    t0 = time.time_ns()
    assert recorder.handle(plate_read(org, uuid.uuid4(), first_seen=t0, at_ns=t0 + 3 * SECOND)) is True
    row = Passage.objects.get()
    assert sorted(row.watchlist_ids) == sorted([stolen.id, residents.id])
    assert row.watchlist_matches == [
        {"watchlist": str(residents.id), "name": "residents", "kind": "allow", "plate": "A8C1D23",
         "label": "flat 12", "exact": False},
        {"watchlist": str(stolen.id), "name": "stolen", "kind": "deny", "plate": "ABC1D23",
         "label": "exact entry", "exact": True},
    ]


@pytest.mark.timeout(60)
async def test_plate_reads_published_on_the_broker_become_one_passage(amqp_url, engine, org):
    broker = BrokerSettings()
    consumer = Consumer(amqp_url, RECORDER_EVENTS, Recorder(engine), prefetch=4, settings=broker,
                        setup=lambda channel: declare_topology(channel, broker))
    running = asyncio.create_task(consumer.run(install_signal_handlers=False))
    try:
        await asyncio.wait_for(consumer.started.wait(), 20)
        t0 = time.time_ns()
        first = plate_read(org, uuid.uuid4(), first_seen=t0, at_ns=t0 + SECOND)
        final = plate_read(org, first.data.camera, first_seen=t0, at_ns=t0 + 2 * SECOND, final=True)
        async with AsyncPublisher(amqp_url, settings=broker) as publisher:
            for envelope in (first, first, final):
                await publisher.publish(envelope)

        def stored() -> bool:
            return Passage.objects.filter(final=True).count() == 1

        deadline = asyncio.get_running_loop().time() + 30
        while not await asyncio.to_thread(stored):
            assert asyncio.get_running_loop().time() < deadline, "the passage was never stored"
            await asyncio.sleep(0.2)
        assert await asyncio.to_thread(Passage.objects.count) == 1
    finally:
        consumer.stop()
        await asyncio.wait_for(running, 20)
