"""Where versions and runs are kept: the ``models`` bucket and the tables control's classifiers
app owns (``classifier_models``, ``training_runs``, declared in :mod:`vigia.common.db`).

A version's files live under ``false-alarms/<org>/<model id>/``: ``model.pt`` (TorchScript) and
``metrics.json`` (metrics, parameters, the data set's hash and its sample ids with labels). The
row is inserted after both are stored, so a listed version always has its weights.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from vigia.common import db
from vigia.common.ids import uuid7
from vigia.common.storage import ObjectStore
from vigia.trainer.dataset import Dataset
from vigia.trainer.training import TrainedClassifier

MODELS_BUCKET = "models"


def artifact_prefix(org: uuid.UUID, model: uuid.UUID) -> str:
    return f"false-alarms/{org}/{model}/"


def save_version(engine: Engine, store: ObjectStore, org: uuid.UUID, trained: TrainedClassifier,
                 dataset: Dataset, run: uuid.UUID | None) -> tuple[uuid.UUID, int]:
    """Store ``trained`` as the organization's next version; returns (model id, version)."""
    model_id = uuid7()
    prefix = artifact_prefix(org, model_id)
    store.put(MODELS_BUCKET, prefix + "model.pt", trained.torchscript(), "application/octet-stream")
    record = {"model": str(model_id), "org": str(org), "dataset_hash": dataset.hash, "metrics": trained.metrics,
              "parameters": trained.parameters,
              "samples": [{"id": i, "label": label} for i, label in zip(dataset.ids, dataset.labels, strict=True)]}
    store.put(MODELS_BUCKET, prefix + "metrics.json", orjson.dumps(record, option=orjson.OPT_INDENT_2),
              "application/json")
    table = db.classifier_models
    parameters = {k: v for k, v in trained.parameters.items() if k != "test_ids"}
    for _ in range(5):  # two runs finishing together race for the next version number
        try:
            with engine.begin() as conn:
                version = int(conn.execute(select(func.coalesce(func.max(table.c.version), 0))
                                           .where(table.c.org_id == org)).scalar_one()) + 1
                conn.execute(insert(table).values(
                    id=model_id, org_id=org, version=version, created_at=datetime.now(UTC),
                    artifact_key=prefix + "model.pt", dataset_hash=dataset.hash, samples=len(dataset),
                    metrics=trained.metrics, parameters=parameters, training_run_id=run, is_active=False))
            return model_id, version
        except IntegrityError:
            continue
    raise RuntimeError("could not number the new version")


# --- training runs ------------------------------------------------------------------------------


def create_run(engine: Engine, org: uuid.UUID) -> uuid.UUID:
    """A queued run (the command line's; the API inserts its own)."""
    run = uuid7()
    with engine.begin() as conn:
        conn.execute(insert(db.training_runs).values(id=run, org_id=org, status="queued",
                                                     created_at=datetime.now(UTC), error=""))
    return run


def start_run(engine: Engine, org: uuid.UUID, run: uuid.UUID) -> bool:
    """Mark the organization's queued run running; False when it is no queued run of ``org``
    (another org's, unknown, or already taken: a redelivered request)."""
    runs = db.training_runs
    with engine.begin() as conn:
        taken = conn.execute(update(runs).where(runs.c.id == run, runs.c.org_id == org, runs.c.status == "queued")
                             .values(status="running", started_at=datetime.now(UTC))).rowcount
    return bool(taken)


def fail_stale_runs(engine: Engine, older_than_s: float) -> int:
    """Mark failed every run still running ``older_than_s`` after it started (its trainer died
    mid-run: its request was acknowledged or is gone); returns how many."""
    runs = db.training_runs
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    with engine.begin() as conn:
        return int(conn.execute(update(runs).where(runs.c.status == "running", runs.c.started_at < cutoff).values(
            status="failed", finished_at=datetime.now(UTC),
            error="the trainer stopped during the run; ask for another")).rowcount)


def finish_run(engine: Engine, run: uuid.UUID, *, model: uuid.UUID | None = None, samples: int | None = None,
               error: str = "") -> None:
    values: dict[str, Any] = {"status": "failed" if error else "succeeded", "finished_at": datetime.now(UTC),
                              "error": error[:2000], "model_id": model, "samples": samples}
    with engine.begin() as conn:
        conn.execute(update(db.training_runs).where(db.training_runs.c.id == run).values(**values))


def organization_by_slug(engine: Engine, slug: str) -> uuid.UUID | None:
    with engine.connect() as conn:
        found: uuid.UUID | None = conn.execute(select(db.organizations.c.id)
                                               .where(db.organizations.c.slug == slug)).scalar()
    return found
