"""Fixtures for the trainer: a database migrated by the control plane, an organization of each
test's own, a file object store in a temporary directory, and events its operators classified with
their evidence bundles (:mod:`tests.support.evidence_bundles`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from tests.support.databases import migrated_database
from tests.support.evidence_bundles import write_bundle
from vigia.common.db import events, make_engine, organizations
from vigia.common.settings import CommonSettings
from vigia.common.storage import ObjectStore, ensure_default_buckets, open_store

DB_NAME = os.environ.get("VIGIA_TEST_TRAINER_DB", "vigia_trainer_svc")


@pytest.fixture(scope="session")
def database_url() -> str:
    return migrated_database(DB_NAME)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def objects(tmp_path: Path) -> Path:
    return tmp_path / "objects"


@pytest.fixture
def store(objects: Path) -> ObjectStore:
    store = open_store(f"file://{objects}", CommonSettings())
    ensure_default_buckets(store)
    return store


@pytest.fixture
def org(engine: Engine) -> uuid.UUID:
    org_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org_id, name="Trainer test", slug=f"tr-{org_id.hex[:12]}",
                                                  settings={}, created_at=datetime.now(UTC)))
    return org_id


@pytest.fixture
def classified(engine: Engine, store: ObjectStore, org: uuid.UUID) -> Callable[..., list[tuple[uuid.UUID, str]]]:
    """``classified(true=6, false=6, test=0, unclassified=0, bundles=True)``: events of ``org``, each
    with its bundle; returns (id, classification) oldest first."""

    def make(true: int = 6, false: int = 6, test: int = 0, unclassified: int = 0,
             bundles: bool = True) -> list[tuple[uuid.UUID, str]]:
        kinds = ["true_positive"] * true + ["false_positive"] * false + ["test"] * test + \
            ["unclassified"] * unclassified
        start = datetime.now(UTC) - timedelta(hours=1)
        made = []
        for i, classification in enumerate(kinds[::2] + kinds[1::2]):  # interleaved in time
            event, at = uuid.uuid4(), start + timedelta(seconds=10 * i)
            with engine.begin() as conn:
                conn.execute(insert(events).values(
                    id=event, org_id=org, time=at, event_type="correlated_anomaly", severity="high", score=0.8,
                    sources=[], description="", status="resolved", classification=classification, notes="",
                    updated_at=at))
            if bundles:
                write_bundle(store, org, event, alarm=classification != "false_positive", seed=i, started_at=at)
            made.append((event, classification))
        return made

    return make
