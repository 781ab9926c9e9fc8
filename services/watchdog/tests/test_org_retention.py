"""Each organization's own retention (LGPD) applied by the janitor: passages last seen before the
organization's ``retention.passages_days`` and snapshots older than its ``retention.snapshots_days``
are deleted; other organizations keep theirs under the defaults."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from vigia.common.db import organizations, passages
from vigia.common.plates import look_alike_key
from vigia.common.privacy import organization_retention, snapshot_day_prefix
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
