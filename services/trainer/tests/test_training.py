"""A training run end to end on real bundles: the data set is the classified events with evidence,
oldest first, hashed by ids and labels; a tiny classifier is trained with Lightning, measured on the
held-out events and stored as the organization's next version (TorchScript in the models bucket,
metrics and hash in classifier_models); the run row says how it went."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import torch
from sqlalchemy import Engine, select, update

from vigia.common import db
from vigia.common.false_alarms import dataset_hash, sample_from_bundle
from vigia.common.storage import ObjectStore
from vigia.trainer.dataset import build_dataset
from vigia.trainer.service import RUN_SECONDS, RUNS, run_training
from vigia.trainer.training import TrainingOptions
from vigia.trainer.versions import create_run, fail_stale_runs

FAST = TrainingOptions(epochs=12, batch_size=8, learning_rate=5e-3, min_samples=8, seed=1, accelerator="cpu")


def _timed_runs() -> float:
    return next(s.value for s in RUN_SECONDS.collect()[0].samples if s.name.endswith("_count"))


def test_the_data_set_is_the_classified_events_with_bundles_oldest_first(
        engine: Engine, store: ObjectStore, org: uuid.UUID, classified: Callable[..., Any]) -> None:
    made = classified(true=3, false=3, test=1, unclassified=1)
    classified(true=1, false=0, bundles=False)  # classified, but its bundle is not built yet
    dataset = build_dataset(engine, store, org)
    expected = [(str(e), 1 if c == "false_positive" else 0) for e, c in made
                if c in ("true_positive", "false_positive")]
    assert list(zip(dataset.ids, dataset.labels, strict=True)) == expected
    assert dataset.skipped == 1 and dataset.hash == dataset_hash(expected)
    sample = dataset.samples[0]
    assert sample.frames.shape == (4, 3, 48, 48) and sample.frames.max() > 0.5  # decoded from the MP4
    assert sample.audio.std() > 0 and sample.sensors[-3:-1].tolist() == [1.0, 1.0]  # has video and audio


def test_a_run_trains_measures_and_stores_the_next_version(
        engine: Engine, store: ObjectStore, org: uuid.UUID, classified: Callable[..., Any]) -> None:
    made = classified(true=8, false=8)
    run = create_run(engine, org)
    succeeded, timed = RUNS.labels("succeeded")._value.get(), _timed_runs()
    outcome = run_training(engine, store, org, run, FAST)
    assert outcome.status == "succeeded", outcome
    assert RUNS.labels("succeeded")._value.get() == succeeded + 1 and _timed_runs() == timed + 1
    assert outcome.version == 1 and outcome.samples == 16
    expected_hash = dataset_hash((str(e), 1 if c == "false_positive" else 0) for e, c in made)
    with engine.connect() as conn:
        row = conn.execute(select(db.classifier_models).where(db.classifier_models.c.id == outcome.model)).one()
        run_row = conn.execute(select(db.training_runs).where(db.training_runs.c.id == run)).one()
    assert (row.org_id, row.version, row.samples, row.dataset_hash, row.is_active) == (
        org, 1, 16, expected_hash, False)
    assert (run_row.status, run_row.model_id, run_row.samples, run_row.error) == ("succeeded", row.id, 16, "")
    assert row.metrics["test_samples"] == 4 and row.metrics["train_samples"] == 12
    assert row.metrics["accuracy"] >= 0.75 and row.metrics["auc"] is not None  # the classes are easy apart
    record = orjson.loads(store.get("models", f"false-alarms/{org}/{row.id}/metrics.json"))
    assert record["dataset_hash"] == expected_hash and len(record["samples"]) == 16

    # The stored file is all the correlator needs: TorchScript, scaling included.
    module = torch.jit.load(io.BytesIO(store.get("models", row.artifact_key)))
    alarm = sample_from_bundle({n: store.get("evidence", f"{org}/{made[0][0]}/{n}")
                                for n in ("video.mp4", "audio.wav", "sensors.csv", "metadata.json")})
    with torch.no_grad():
        logit = module(torch.from_numpy(alarm.frames[None]), torch.from_numpy(alarm.audio[None]),
                       torch.from_numpy(alarm.sensors[None]))
    assert logit.shape == (1,)

    second = run_training(engine, store, org, create_run(engine, org), FAST)
    assert second.version == 2 and second.dataset_hash == expected_hash  # same events, same labels


def test_too_few_classified_events_fail_the_run_saying_why(
        engine: Engine, store: ObjectStore, org: uuid.UUID, classified: Callable[..., Any]) -> None:
    classified(true=5, false=1)
    run = create_run(engine, org)
    outcome = run_training(engine, store, org, run, FAST)
    assert outcome.status == "failed" and "1 false" in outcome.error
    with engine.connect() as conn:
        run_row = conn.execute(select(db.training_runs).where(db.training_runs.c.id == run)).one()
        versions = conn.execute(select(db.classifier_models).where(db.classifier_models.c.org_id == org)).all()
    assert run_row.status == "failed" and "at least 2 of each" in run_row.error and versions == []


def test_another_organizations_run_is_not_taken(engine: Engine, store: ObjectStore, org: uuid.UUID) -> None:
    run = create_run(engine, org)
    skipped, timed = RUNS.labels("skipped")._value.get(), _timed_runs()
    outcome = run_training(engine, store, uuid.uuid4(), run, FAST)
    assert outcome.status == "skipped"
    assert RUNS.labels("skipped")._value.get() == skipped + 1 and _timed_runs() == timed  # no run, no time
    with engine.connect() as conn:
        assert conn.execute(select(db.training_runs.c.status).where(db.training_runs.c.id == run)).scalar() == "queued"


def test_a_run_left_running_by_a_dead_trainer_is_marked_failed(engine: Engine, org: uuid.UUID) -> None:
    stale, fresh = create_run(engine, org), create_run(engine, org)
    with engine.begin() as conn:
        for run, started in ((stale, datetime.now(UTC) - timedelta(hours=3)), (fresh, datetime.now(UTC))):
            conn.execute(update(db.training_runs).where(db.training_runs.c.id == run)
                         .values(status="running", started_at=started))
    assert fail_stale_runs(engine, 7200) >= 1
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(db.training_runs).where(db.training_runs.c.org_id == org))}
    assert rows[stale].status == "failed" and "stopped during the run" in rows[stale].error
    assert rows[fresh].status == "running"
