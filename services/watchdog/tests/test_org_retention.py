"""Each organization's own retention (LGPD) applied by the janitor: passages last seen before the
organization's ``retention.passages_days``, snapshots older than its ``retention.snapshots_days``,
evidence bundles written before its ``retention.evidence_days`` and notification deliveries (with
their attempts) created before its ``retention.notifications_days`` are deleted; other
organizations keep theirs under the defaults."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from vigia.common.db import notification_attempts, notification_deliveries, organizations, passages
from vigia.common.plates import look_alike_key
from vigia.common.privacy import evidence_prefix, organization_retention, snapshot_day_prefix
from vigia.common.storage import FileStore
from vigia.watchdog.janitor import OrganizationRetention


@pytest.fixture
def clean(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(delete(passages))
    return engine


def _passage(engine: Engine, org: uuid.UUID, last_seen_days: float) -> uuid.UUID:
    ident, seen = uuid.uuid4(), datetime.now(UTC) - timedelta(days=last_seen_days)
    with engine.begin() as conn:
        conn.execute(insert(passages).values(
            id=ident, org_id=org, camera_id=uuid.uuid4(), site="", visit="v", first_seen=seen - timedelta(seconds=5),
            last_seen=seen, label="car", plate_text="ABC1D23", plate_folded=look_alike_key("ABC1D23"),
            confidence=0.9, votes=2, runner_ups=[], final=True, watchlist_ids=[], watchlist_matches=[],
            message_time=seen, received_at=seen, updated_at=seen))
    return ident


def _kept(engine: Engine) -> set[uuid.UUID]:
    with engine.connect() as conn:
        return set(conn.execute(select(passages.c.id)).scalars())


def _snapshot(store: FileStore, org: uuid.UUID, camera: uuid.UUID, days: float, name: str) -> str:
    moment = datetime.now(UTC) - timedelta(days=days)
    key = snapshot_day_prefix(org, camera, moment.date()) + name
    store.put("snapshots", key, b"\xff\xd8", content_type="image/jpeg")
    os.utime(store.root / "snapshots" / "objects" / key, (moment.timestamp(), moment.timestamp()))
    return key


def test_organization_retention_reads_the_settings_and_falls_back_to_the_defaults():
    keep = organization_retention({"retention": {"passages_days": 7, "snapshots_days": 3}}, 90)
    assert (keep.passages_days, keep.snapshots_days) == (7, 3)
    assert organization_retention({}, 90).passages_days == 90
    assert organization_retention({"retention": {"snapshots_days": 400, "passages_days": True}}, 90) == (
        organization_retention(None, 90))  # out of range or not a number: the defaults (snapshots: 30)


def test_each_organizations_passages_and_snapshots_go_after_its_own_retention(
        clean: Engine, org: uuid.UUID, add_camera, tmp_path: Path) -> None:
    strict = org
    with clean.begin() as conn:
        conn.execute(update(organizations).where(organizations.c.id == strict).values(
            settings={"retention": {"passages_days": 7, "snapshots_days": 3}}))
        lenient = uuid.uuid4()
        conn.execute(insert(organizations).values(id=lenient, name="Lenient", slug=f"wd-{lenient.hex[:8]}",
                                                  settings={}, created_at=datetime.now(UTC)))
    expired = _passage(clean, strict, 8)
    young = _passage(clean, strict, 6)
    default_kept = _passage(clean, lenient, 60)   # the default: 90 days
    default_expired = _passage(clean, lenient, 91)
    camera = add_camera()
    store = FileStore(f"{tmp_path}/objects", "a-url-secret-of-the-tests-0123456789")
    old = _snapshot(store, strict, camera, 5, "old.jpg")
    fresh = _snapshot(store, strict, camera, 1, "fresh.jpg")
    others = _snapshot(store, lenient, camera, 5, "theirs.jpg")

    janitor = OrganizationRetention(clean, store, default_passages_days=90, interval=3600, batch_size=1)
    report = janitor.run_sync()

    assert _kept(clean) == {young, default_kept}
    assert {expired, default_expired}.isdisjoint(_kept(clean))
    keys = {info.key for info in store.list("snapshots")}
    assert keys == {fresh, others} and old not in keys
    assert report[str(strict)] == {"passages": 1, "snapshots": 1}
    assert report[str(lenient)] == {"passages": 1}
    assert janitor.run_sync() == {}  # nothing left to do


@pytest.fixture
def notifications(engine: Engine) -> Iterator[Engine]:
    """No delivery rows before or after (they reference the organizations the engine fixture empties)."""
    def empty() -> None:
        with engine.begin() as conn:
            conn.execute(delete(notification_attempts))
            conn.execute(delete(notification_deliveries))
    empty()
    yield engine
    empty()


def _delivery(engine: Engine, org: uuid.UUID, days: float, status: str, attempts: int = 2) -> uuid.UUID:
    ident, created = uuid.uuid4(), datetime.now(UTC) - timedelta(days=days)
    with engine.begin() as conn:
        conn.execute(insert(notification_deliveries).values(
            id=ident, org_id=org, action_id=uuid.uuid4(), channel_id=None, kind="webhook", event_id=None,
            pipeline_id=None, node="", recipient="+5511988887777", idempotency_key=uuid.uuid4().hex * 2,
            status=status, attempts=attempts, last_error="", created_at=created, updated_at=created))
        for attempt in range(1, attempts + 1):
            conn.execute(insert(notification_attempts).values(
                org_id=org, delivery_id=ident, attempt=attempt, status="failed", response="", error="", time=created))
    return ident


def _deliveries(engine: Engine) -> dict[uuid.UUID, int]:
    """Delivery id -> how many attempt rows it still has."""
    with engine.connect() as conn:
        kept = dict.fromkeys(conn.execute(select(notification_deliveries.c.id)).scalars(), 0)
        for delivery in conn.execute(select(notification_attempts.c.delivery_id)).scalars():
            kept[delivery] = kept.get(delivery, 0) + 1
    return kept


def test_notification_deliveries_and_their_attempts_go_after_each_organizations_retention_once_over(
        notifications: Engine, org: uuid.UUID) -> None:
    strict = org
    with notifications.begin() as conn:
        conn.execute(update(organizations).where(organizations.c.id == strict).values(
            settings={"retention": {"notifications_days": 7}}))
        lenient = uuid.uuid4()
        conn.execute(insert(organizations).values(id=lenient, name="Lenient", slug=f"wd-{lenient.hex[:8]}",
                                                  settings={}, created_at=datetime.now(UTC)))
    delivered = _delivery(notifications, strict, 8, "delivered")
    failed = _delivery(notifications, strict, 9, "failed", attempts=5)
    retrying = _delivery(notifications, strict, 8, "retrying")   # not over: kept whatever its age
    sending = _delivery(notifications, strict, 30, "sending", attempts=1)
    young = _delivery(notifications, strict, 6, "delivered")
    default_kept = _delivery(notifications, lenient, 29, "delivered")  # the default here: 30 days
    default_expired = _delivery(notifications, lenient, 31, "failed")

    janitor = OrganizationRetention(notifications, None, default_passages_days=90, default_notifications_days=30,
                                    interval=3600, batch_size=1)
    report = janitor.run_sync()

    assert _deliveries(notifications) == {retrying: 2, sending: 1, young: 2, default_kept: 2}
    assert {delivered, failed, default_expired}.isdisjoint(_deliveries(notifications))
    assert report[str(strict)] == {"passages": 0, "notifications": 2}
    assert report[str(lenient)] == {"passages": 0, "notifications": 1}
    assert janitor.run_sync() == {}  # nothing left to do
    assert organization_retention({"retention": {"notifications_days": 0}}, 90, 30).notifications_days == 30


def _bundle(store: FileStore, org: uuid.UUID, days: float, files: tuple[str, ...] = (
        "video.mp4", "sensors.csv", "metadata.json", "manifest.json")) -> list[str]:
    """An event's evidence bundle as the correlator writes it, its files written ``days`` ago."""
    moment = datetime.now(UTC) - timedelta(days=days)
    prefix = evidence_prefix(org, uuid.uuid4())
    for name in files:
        store.put("evidence", prefix + name, b"x")
        os.utime(store.root / "evidence" / "objects" / (prefix + name), (moment.timestamp(), moment.timestamp()))
    return [prefix + name for name in files]


def test_evidence_bundles_go_whole_after_each_organizations_retention(
        clean: Engine, org: uuid.UUID, tmp_path: Path) -> None:
    strict = org
    with clean.begin() as conn:
        conn.execute(update(organizations).where(organizations.c.id == strict).values(
            settings={"retention": {"evidence_days": 30}}))
        lenient = uuid.uuid4()
        conn.execute(insert(organizations).values(id=lenient, name="Lenient", slug=f"wd-{lenient.hex[:8]}",
                                                  settings={}, created_at=datetime.now(UTC)))
    store = FileStore(f"{tmp_path}/objects", "a-url-secret-of-the-tests-0123456789")
    expired = _bundle(store, strict, 31)
    unfinished = _bundle(store, strict, 40, ("video.mp4",))  # never completed: goes the same way
    young = _bundle(store, strict, 29)
    theirs = _bundle(store, lenient, 200)                      # the default here: 365 days
    theirs_expired = _bundle(store, lenient, 366)

    janitor = OrganizationRetention(clean, store, default_passages_days=90, interval=3600, batch_size=10)
    report = janitor.run_sync()

    assert {info.key for info in store.list("evidence")} == {*young, *theirs}
    assert {*expired, *unfinished, *theirs_expired}.isdisjoint(info.key for info in store.list("evidence"))
    assert report[str(strict)] == {"passages": 0, "evidence": 2}
    assert report[str(lenient)] == {"passages": 0, "evidence": 1}
    assert janitor.run_sync() == {}
    # A bundle one file of which is recent (being written, or rewritten) is kept whole.
    mixed = _bundle(store, strict, 45)
    store.put("evidence", mixed[0], b"rewritten")
    assert janitor.run_sync() == {}
    assert set(mixed) <= {info.key for info in store.list("evidence")}


def test_face_sightings_go_after_the_organizations_faces_sightings_days(engine: Engine, org: uuid.UUID) -> None:
    from vigia.common.db import face_sightings

    with engine.begin() as conn:
        conn.execute(delete(face_sightings))
        conn.execute(update(organizations).where(organizations.c.id == org).values(
            settings={"faces": {"sightings_days": 7}}))
        lenient = uuid.uuid4()
        conn.execute(insert(organizations).values(id=lenient, name="Lenient", slug=f"wd-{lenient.hex[:8]}",
                                                  settings={}, created_at=datetime.now(UTC)))

    def sighting(owner: uuid.UUID, days: float) -> uuid.UUID:
        ident, seen = uuid.uuid4(), datetime.now(UTC) - timedelta(days=days)
        with engine.begin() as conn:
            conn.execute(insert(face_sightings).values(
                id=ident, org_id=owner, person_id=uuid.uuid4(), camera_id=uuid.uuid4(), time=seen, distance=0.3,
                box={"x1": 0, "y1": 0, "x2": 1, "y2": 1}, received_at=seen))
        return ident

    expired, young = sighting(org, 8), sighting(org, 6)
    default_kept, default_expired = sighting(lenient, 29), sighting(lenient, 31)  # the default: 30 days
    report = OrganizationRetention(engine, None, default_passages_days=90, interval=3600, batch_size=1).run_sync()
    with engine.connect() as conn:
        kept = set(conn.execute(select(face_sightings.c.id)).scalars())
    assert kept == {young, default_kept} and not {expired, default_expired} & kept
    assert report[str(org)]["face_sightings"] == 1 and report[str(lenient)]["face_sightings"] == 1


def test_enrolled_people_not_renewed_within_enrolment_days_are_erased_with_photos_and_sightings(
        engine: Engine, org: uuid.UUID) -> None:
    from sqlalchemy import text

    from vigia.common.db import face_sightings

    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(delete(face_sightings))
        conn.execute(update(organizations).where(organizations.c.id == org).values(
            settings={"faces": {"enrolment_days": 30}}))

    def person(days: float) -> uuid.UUID:
        ident, renewed = uuid.uuid4(), now - timedelta(days=days)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO face_people (id, org_id, name, consent_note, created_at, updated_at) "
                              "VALUES (:id, :org, 'p', 'signed', :at, :at)"), {"id": ident, "org": org, "at": renewed})
            conn.execute(text("INSERT INTO face_photos (id, org_id, person_id, photo_encrypted, embedding_encrypted, "
                              "face_box, width, height, created_at) VALUES (gen_random_uuid(), :org, :id, 'x', 'y', "
                              "'{}', 1, 1, :at)"), {"id": ident, "org": org, "at": renewed})
            conn.execute(insert(face_sightings).values(
                id=uuid.uuid4(), org_id=org, person_id=ident, camera_id=uuid.uuid4(), time=now, distance=0.3,
                box={"x1": 0, "y1": 0, "x2": 1, "y2": 1}, received_at=now))
        return ident

    lapsed, renewed = person(31), person(29)
    try:
        report = OrganizationRetention(engine, None, default_passages_days=90, interval=3600,
                                       batch_size=1).run_sync()
        with engine.connect() as conn:
            people = set(conn.execute(text("SELECT id FROM face_people WHERE org_id = :org"), {"org": org}).scalars())
            photos = set(conn.execute(text("SELECT person_id FROM face_photos WHERE org_id = :org"),
                                      {"org": org}).scalars())
            seen = set(conn.execute(select(face_sightings.c.person_id)).scalars())
        assert people == photos == seen == {renewed} and lapsed not in people
        assert report[str(org)]["face_enrolments"] == 1
    finally:  # the fixtures empty organizations, which enrolled people reference
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM face_photos"))
            conn.execute(text("DELETE FROM face_people"))
            conn.execute(delete(face_sightings))
